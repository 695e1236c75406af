package metricstore

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// newResource adds a ResourceMetrics for checkout on host h1 and returns its scope's metrics.
func newResource(md pmetric.Metrics) pmetric.MetricSlice {
	rm := md.ResourceMetrics().AppendEmpty()
	attrs := rm.Resource().Attributes()
	attrs.PutStr("service.name", "checkout")
	attrs.PutStr("service.instance.id", "checkout-1")
	attrs.PutStr("host.name", "h1")
	attrs.PutStr("deployment.environment", "prod")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("test")
	return sm.Metrics()
}

func addGauge(ms pmetric.MetricSlice, name, unit string, ts time.Time, v float64) pmetric.NumberDataPoint {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(v)
	return dp
}

func addSum(ms pmetric.MetricSlice, name string, temporality pmetric.AggregationTemporality, ts time.Time, v int64) {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit("{request}")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(temporality)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(ts.Add(-time.Minute)))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetIntValue(v)
	dp.Attributes().PutStr("http.route", "/pay")
}

func addHistogram(ms pmetric.MetricSlice, ts time.Time) {
	m := ms.AppendEmpty()
	m.SetName("http.server.duration")
	m.SetUnit("s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := h.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.ExplicitBounds().FromRaw([]float64{0.1, 1})
	dp.BucketCounts().FromRaw([]uint64{2, 3, 1})
	dp.SetCount(6)
	dp.SetSum(4.5)
}

func addExpHistogram(ms pmetric.MetricSlice, ts time.Time) {
	m := ms.AppendEmpty()
	m.SetName("rpc.latency")
	m.SetUnit("ms")
	h := m.SetEmptyExponentialHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := h.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetScale(0)
	dp.SetCount(3)
	dp.SetSum(7)
	dp.Positive().SetOffset(1)
	dp.Positive().BucketCounts().FromRaw([]uint64{1, 2})
}

// seriesOf returns every series in the store as label strings, sorted.
func seriesOf(t *testing.T, s *Store) []string {
	t.Helper()
	q, err := s.Queryable().Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var out []string
	for ss.Next() {
		out = append(out, ss.At().Labels().String())
	}
	require.NoError(t, ss.Err())
	slices.Sort(out)
	return out
}

func counters(t *testing.T, s *Store) (received, stored float64) {
	t.Helper()
	return testutil.ToFloat64(s.pointsReceived), testutil.ToFloat64(s.pointsStored)
}

func refused(s *Store, reason string) float64 {
	return testutil.ToFloat64(s.pointsRefused.WithLabelValues(reason))
}

func TestWriteOTLPTranslation(t *testing.T) {
	s := openTestStore(t, testConfig(), t.TempDir(), prometheus.NewRegistry())
	ts := time.Now().Add(-time.Minute).Truncate(time.Millisecond)

	md := pmetric.NewMetrics()
	ms := newResource(md)
	addGauge(ms, "system.memory.usage", "By", ts, 1024).Attributes().PutStr("state", "used")
	addSum(ms, "http.server.requests", pmetric.AggregationTemporalityCumulative, ts, 42)
	addHistogram(ms, ts)
	addExpHistogram(ms, ts)

	st, err := s.WriteOTLP(context.Background(), md)
	require.NoError(t, err)
	// 8 series: gauge, counter, 3 buckets + _sum + _count, native histogram (target_info not counted).
	require.Equal(t, Stats{Points: 4, Series: 8, Dropped: 0}, st)

	const res = `host_name="h1", instance="checkout-1", job="checkout", `
	require.Equal(t, []string{
		`{__name__="http_server_duration_seconds_bucket", ` + res + `le="+Inf", service_name="checkout"}`,
		`{__name__="http_server_duration_seconds_bucket", ` + res + `le="0.1", service_name="checkout"}`,
		`{__name__="http_server_duration_seconds_bucket", ` + res + `le="1", service_name="checkout"}`,
		`{__name__="http_server_duration_seconds_count", ` + res + `service_name="checkout"}`,
		`{__name__="http_server_duration_seconds_sum", ` + res + `service_name="checkout"}`,
		`{__name__="http_server_requests_total", host_name="h1", http_route="/pay", instance="checkout-1", job="checkout", service_name="checkout"}`,
		`{__name__="rpc_latency_milliseconds", ` + res + `service_name="checkout"}`,
		`{__name__="system_memory_usage_bytes", ` + res + `service_name="checkout", state="used"}`,
		`{__name__="target_info", deployment_environment="prod", host_name="h1", instance="checkout-1", job="checkout"}`,
	}, seriesOf(t, s))

	// Values through PromQL.
	at := ts.Add(time.Second)
	for q, want := range map[string]float64{
		`system_memory_usage_bytes{service_name="checkout", host_name="h1"}`: 1024,
		`http_server_requests_total{job="checkout", http_route="/pay"}`:      42,
		`http_server_duration_seconds_bucket{le="1"}`:                        5,
		`http_server_duration_seconds_count`:                                 6,
		`http_server_duration_seconds_sum`:                                   4.5,
		`histogram_count(rpc_latency_milliseconds)`:                          3,
		`histogram_sum(rpc_latency_milliseconds)`:                            7,
	} {
		v := instant(t, s, q, at)
		require.Len(t, v, 1, q)
		require.Equal(t, want, v[0].F, q)
	}
	v := instant(t, s, `rpc_latency_milliseconds`, at)
	require.Len(t, v, 1)
	require.NotNil(t, v[0].H, "exponential histogram is a native histogram")

	received, stored := counters(t, s)
	require.Equal(t, 4.0, received)
	require.Equal(t, 4.0, stored)
}

func TestWriteOTLPHistogramsAsNHCB(t *testing.T) {
	cfg := testConfig()
	cfg.OTLPHistogramsAsNHCB = true
	s := openTestStore(t, cfg, t.TempDir(), nil)
	ts := time.Now().Add(-time.Minute)
	md := pmetric.NewMetrics()
	addHistogram(newResource(md), ts)
	st, err := s.WriteOTLP(context.Background(), md)
	require.NoError(t, err)
	require.Equal(t, Stats{Points: 1, Series: 1}, st)
	v := instant(t, s, `histogram_quantile(0.5, http_server_duration_seconds)`, ts)
	require.Len(t, v, 1)
	require.InDelta(t, 0.4, v[0].F, 1e-9) // 3rd of 6 observations: 1st of 3 in the (0.1, 1] bucket
}

func TestWriteOTLPRefusals(t *testing.T) {
	s := openTestStore(t, testConfig(), t.TempDir(), prometheus.NewRegistry())
	now := time.Now().Truncate(time.Millisecond)
	ctx := context.Background()

	// The head's newest sample is now.
	md := pmetric.NewMetrics()
	addGauge(newResource(md), "queue.depth", "", now, 1)
	_, err := s.WriteOTLP(ctx, md)
	require.NoError(t, err)

	md = pmetric.NewMetrics()
	ms := newResource(md)
	addGauge(ms, "queue.depth", "", now.Add(-5*time.Minute), 2)                           // late, inside the window: stored
	addGauge(ms, "queue.depth", "", now.Add(-time.Hour), 3)                               // behind the window: too_old
	addGauge(ms, "temperature", "", now, math.NaN())                                      // NaN is a value: stored
	addSum(ms, "http.server.requests", pmetric.AggregationTemporalityDelta, now, 5)       // delta: refused
	addSum(ms, "http.client.requests", pmetric.AggregationTemporalityUnspecified, now, 5) // invalid
	addGauge(ms, "", "", now, 1)                                                          // no name
	st, err := s.WriteOTLP(ctx, md)
	require.NoError(t, err)
	require.Equal(t, 2, st.Points)
	require.Equal(t, 4, st.Dropped)

	received, stored := counters(t, s)
	require.Equal(t, 7.0, received)
	require.Equal(t, 3.0, stored)
	require.Equal(t, 1.0, refused(s, ReasonTooOld))
	require.Equal(t, 1.0, refused(s, ReasonDeltaTemporality))
	require.Equal(t, 1.0, refused(s, ReasonInvalidTemporality))
	require.Equal(t, 1.0, refused(s, ReasonInvalidName))
	require.Equal(t, 0.0, refused(s, ReasonTranslation))

	v := instant(t, s, `queue_depth`, now.Add(-4*time.Minute))
	require.Len(t, v, 1)
	require.Equal(t, 2.0, v[0].F, "the out-of-order point is queryable")
	v = instant(t, s, `temperature`, now)
	require.Len(t, v, 1)
	require.True(t, math.IsNaN(v[0].F))

	// A canceled context stores nothing and says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	md = pmetric.NewMetrics()
	ms = newResource(md)
	for i := range 200 { // the translator checks the context every 128 metrics
		addGauge(ms, "g", "", now.Add(time.Duration(i)*time.Millisecond), 1)
	}
	_, err = s.WriteOTLP(cctx, md)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 200.0, refused(s, ReasonStorage))
}

func TestWriteOTLPEmpty(t *testing.T) {
	s := openTestStore(t, testConfig(), t.TempDir(), nil)
	st, err := s.WriteOTLP(context.Background(), pmetric.NewMetrics())
	require.NoError(t, err)
	require.Equal(t, Stats{}, st)
}
