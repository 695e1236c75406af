package metricstore

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkWriteOTLP1000Points writes 1,000 gauge and counter points (1,000 series, one
// resource) per operation, each operation a millisecond later than the one before.
func BenchmarkWriteOTLP1000Points(b *testing.B) {
	s := openTestStore(b, testConfig(), b.TempDir(), nil)
	md := pmetric.NewMetrics()
	ms := newResource(md)
	var points []pmetric.NumberDataPoint
	for m := range 10 {
		metric := ms.AppendEmpty()
		metric.SetName("bench.metric." + strconv.Itoa(m))
		var dps pmetric.NumberDataPointSlice
		if m%2 == 0 {
			dps = metric.SetEmptyGauge().DataPoints()
		} else {
			sum := metric.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			dps = sum.DataPoints()
		}
		for i := range 100 {
			dp := dps.AppendEmpty()
			dp.Attributes().PutStr("endpoint", "/api/"+strconv.Itoa(i))
			dp.SetDoubleValue(float64(i))
			points = append(points, dp)
		}
	}
	base := time.Now().Add(-time.Minute)
	ctx := context.Background()

	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		ts := pcommon.NewTimestampFromTime(base.Add(time.Duration(n) * time.Millisecond))
		for _, dp := range points {
			dp.SetTimestamp(ts)
		}
		st, err := s.WriteOTLP(ctx, md)
		if err != nil || st.Points != len(points) {
			b.Fatalf("stats %+v, err %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(points)), "ns/point")
}

// BenchmarkHeadMemory100kSeries appends one sample to each of 100,000 new series and reports
// the Go heap growth (after GC) that the head needs to hold them.
func BenchmarkHeadMemory100kSeries(b *testing.B) {
	const series = 100_000
	b.ReportAllocs()
	var heapPerOp float64
	for b.Loop() {
		b.StopTimer()
		s, err := Open(testConfig(), b.TempDir(), nil, nil)
		require.NoError(b, err)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()

		ts := time.Now().UnixMilli()
		app := s.Appendable().Appender(context.Background())
		for i := range series {
			lset := labels.FromStrings("__name__", "bench_requests_total",
				"job", "svc-"+strconv.Itoa(i%50), "instance", "host-"+strconv.Itoa(i%500), "id", strconv.Itoa(i))
			if _, err := app.Append(0, lset, ts, float64(i)); err != nil {
				b.Fatal(err)
			}
			if i%10_000 == 9_999 {
				require.NoError(b, app.Commit())
				app = s.Appendable().Appender(context.Background())
			}
		}
		require.NoError(b, app.Commit())

		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := s.DB().Head().NumSeries(); got != series {
			b.Fatalf("head has %d series, want %d", got, series)
		}
		heapPerOp = float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
		runtime.KeepAlive(s)
		require.NoError(b, s.Close())
		b.StartTimer()
	}
	b.ReportMetric(heapPerOp, "heap-bytes")
	b.ReportMetric(heapPerOp/series, "heap-bytes/series")
	b.ReportMetric(series, "series")
}
