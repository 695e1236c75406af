package servicegraph

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/faultline/faultline/internal/metricstore"
)

// maxSeriesPerFamily is the cardinality guard: label sets per metric family. The three families
// of a group (requests, errors, duration) share their label sets, so this is also the number of
// (service, operation, span_kind) and of (caller, callee, callee_kind) combinations kept.
const maxSeriesPerFamily = 10_000

// group is the set of three families one observation updates.
type group struct {
	name                       string // "service" or "edge": the label of dropped_series_total
	requests, errors, duration string
	labelNames                 [3]string
}

var (
	serviceGroup = group{
		name:     "service",
		requests: metricstore.ServiceRequests, errors: metricstore.ServiceErrors, duration: metricstore.ServiceDuration,
		labelNames: [3]string{metricstore.LabelService, metricstore.LabelOperation, metricstore.LabelSpanKind},
	}
	edgeGroup = group{
		name:     "edge",
		requests: metricstore.EdgeRequests, errors: metricstore.EdgeErrors, duration: metricstore.EdgeDuration,
		labelNames: [3]string{metricstore.LabelCaller, metricstore.LabelCallee, metricstore.LabelCalleeKind},
	}
)

// seriesKey is the label values of a group's series, in the order of group.labelNames. For
// service series: service, operation, span_kind; for edges: caller, callee, callee_kind.
type seriesKey [3]string

// redSeries is the cumulative state of one label set: a requests counter, an errors counter and
// a classic duration histogram.
type redSeries struct {
	group *group
	key   seriesKey

	// Guarded by Generator.mu.
	requests uint64
	errors   uint64
	sum      float64
	buckets  []uint64 // per bucket, not cumulative; the last one is (largest bound, +Inf)

	// Used by Flush only, under Generator.flushMu: one entry per sample series, in the order
	// of samplesPerSeries.
	out []sampleSeries
}

type sampleSeries struct {
	lset labels.Labels
	ref  storage.SeriesRef
}

// samplesPerSeries is the number of Prometheus series one redSeries writes: requests, errors,
// a bucket per bound and +Inf, sum and count.
func samplesPerSeries() int { return len(metricstore.DurationBuckets) + 5 }

func (s *redSeries) observe(seconds float64, failed bool) {
	s.requests++
	if failed {
		s.errors++
	}
	s.sum += seconds
	i := 0
	for i < len(metricstore.DurationBuckets) && seconds > metricstore.DurationBuckets[i] {
		i++
	}
	s.buckets[i]++
}

// observe adds one request to the series of key in group gr, creating it unless the group is
// full. Called under g.mu.
func (g *Generator) observe(m map[seriesKey]*redSeries, gr *group, key seriesKey, seconds float64, failed bool, st *batchStats) {
	s := m[key]
	if s == nil {
		if len(m) >= g.maxSeries {
			if gr == &serviceGroup {
				st.droppedService++
			} else {
				st.droppedEdge++
			}
			return
		}
		for i := range key {
			key[i] = cloneString(key[i])
		}
		s = &redSeries{group: gr, key: key, buckets: make([]uint64, len(metricstore.DurationBuckets)+1)}
		m[key] = s
		g.series = append(g.series, s)
	}
	s.observe(seconds, failed)
}

// cloneString copies s so a long-lived series key holds only its own bytes.
func cloneString(s string) string {
	if s == "" {
		return ""
	}
	return string([]byte(s))
}

// buildOut makes the label sets of s's Prometheus series, once.
func (s *redSeries) buildOut() {
	n := samplesPerSeries()
	s.out = make([]sampleSeries, 0, n)
	var b labels.ScratchBuilder
	mk := func(name, le string) {
		b.Reset()
		b.Add(model.MetricNameLabel, name)
		for i, ln := range s.group.labelNames {
			b.Add(ln, s.key[i])
		}
		if le != "" {
			b.Add("le", le)
		}
		b.Sort()
		s.out = append(s.out, sampleSeries{lset: b.Labels()})
	}
	mk(s.group.requests, "")
	mk(s.group.errors, "")
	for _, ub := range metricstore.DurationBuckets {
		mk(s.group.duration+"_bucket", strconv.FormatFloat(ub, 'f', -1, 64))
	}
	mk(s.group.duration+"_bucket", "+Inf")
	mk(s.group.duration+"_sum", "")
	mk(s.group.duration+"_count", "")
}

// snapshot appends s's current values to dst in the order of s.out. Called under g.mu.
func (s *redSeries) snapshot(dst []float64) []float64 {
	dst = append(dst, float64(s.requests), float64(s.errors))
	var cum uint64
	for _, c := range s.buckets {
		cum += c
		dst = append(dst, float64(cum))
	}
	return append(dst, s.sum, float64(s.requests))
}

// Flush appends every series' current cumulative value at now, and 1 for every (service,
// host) pair seen since the previous flush, through one Appender and one Commit. The values are
// copied under the generator's lock, so ConsumeTraces never waits for the TSDB. A sample the
// TSDB refuses (say, out of order because now went backwards) is skipped and reported in the
// error; the rest are committed. Concurrent calls are serialised.
func (g *Generator) Flush(now time.Time) error {
	g.flushMu.Lock()
	defer g.flushMu.Unlock()

	per := samplesPerSeries()
	g.mu.Lock()
	series := g.series
	vals := g.flushBuf[:0]
	for _, s := range series {
		vals = s.snapshot(vals)
	}
	hosts := g.takeSeenHosts(g.hostBuf[:0])
	g.hostSeries = len(hosts)
	g.mu.Unlock()
	g.flushBuf = vals
	g.hostBuf = hosts
	g.metrics.series.Set(float64(len(series)*per + len(hosts)))

	t := now.UnixMilli()
	app := g.app.Appender(context.Background())
	var (
		failed   int
		firstErr error
	)
	for i, s := range series {
		if s.out == nil {
			s.buildOut()
		}
		v := vals[i*per : (i+1)*per]
		for j := range s.out {
			o := &s.out[j]
			ref, err := app.Append(o.ref, o.lset, t, v[j])
			if err != nil {
				failed++
				if firstErr == nil {
					firstErr = appendError(o.lset, err)
				}
				o.ref = 0
				continue
			}
			o.ref = ref
		}
	}
	hostsFailed, hostsErr := appendHosts(app, hosts, t)
	failed += hostsFailed
	if firstErr == nil {
		firstErr = hostsErr
	}
	if err := app.Commit(); err != nil {
		g.metrics.flushFailures.Inc()
		for _, s := range series {
			for j := range s.out {
				s.out[j].ref = 0
			}
		}
		// Nothing was written: the pairs count as seen again for the next flush.
		g.mu.Lock()
		for _, h := range hosts {
			h.out.ref = 0
			h.seen = true
		}
		g.mu.Unlock()
		return fmt.Errorf("commit service graph series: %w", errors.Join(err, firstErr))
	}
	if failed > 0 {
		g.metrics.flushFailures.Inc()
		return fmt.Errorf("flush service graph series: %d of %d samples refused, first: %w", failed, len(series)*per+len(hosts), firstErr)
	}
	return nil
}

func appendError(lset labels.Labels, err error) error {
	return fmt.Errorf("append %s: %w", lset.String(), err)
}
