package hostmetrics

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// points appends number data points of one metric, all at one time and, for sums, one
// start time.
type points struct {
	dps   pmetric.NumberDataPointSlice
	start pcommon.Timestamp // 0 for gauges
	now   pcommon.Timestamp
}

// newSum appends a cumulative sum.
func newSum(ms pmetric.MetricSlice, name, unit, desc string, monotonic bool, start, now pcommon.Timestamp) points {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	m.SetDescription(desc)
	s := m.SetEmptySum()
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	s.SetIsMonotonic(monotonic)
	return points{dps: s.DataPoints(), start: start, now: now}
}

// newGauge appends a gauge.
func newGauge(ms pmetric.MetricSlice, name, unit, desc string, now pcommon.Timestamp) points {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	m.SetDescription(desc)
	return points{dps: m.SetEmptyGauge().DataPoints(), now: now}
}

// point appends a data point with string attributes given as key, value pairs.
func (p points) point(kv ...string) pmetric.NumberDataPoint {
	dp := p.dps.AppendEmpty()
	dp.SetStartTimestamp(p.start)
	dp.SetTimestamp(p.now)
	if len(kv) > 0 {
		attrs := dp.Attributes()
		attrs.EnsureCapacity(len(kv) / 2)
		for i := 0; i+1 < len(kv); i += 2 {
			attrs.PutStr(kv[i], kv[i+1])
		}
	}
	return dp
}

func (p points) int(v int64, kv ...string) {
	p.point(kv...).SetIntValue(v)
}

func (p points) double(v float64, kv ...string) {
	p.point(kv...).SetDoubleValue(v)
}

// ratio is part/whole, 0 when whole is 0.
func ratio(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// clampInt64 converts a kernel counter to an OTLP int without wrapping negative.
func clampInt64(v uint64) int64 {
	const maxInt64 = 1<<63 - 1
	if v > maxInt64 {
		return maxInt64
	}
	return int64(v)
}
