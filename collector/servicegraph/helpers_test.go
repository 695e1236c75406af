package servicegraph

import (
	"context"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is the generator's clock in tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type testEnv struct {
	g     *Generator
	db    *tsdb.DB
	reg   *prometheus.Registry
	clock *fakeClock
}

func testConfig() Config {
	return Config{Wait: 10 * time.Second, MaxPending: 1000, FlushInterval: 15 * time.Second}
}

func newTestEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	opts := tsdb.DefaultOptions()
	opts.OutOfOrderTimeWindow = 0
	db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	reg := prometheus.NewRegistry()
	g, err := New(cfg, db, nil, reg)
	require.NoError(t, err)
	clock := &fakeClock{now: t0}
	g.now = clock.Now
	return &testEnv{g: g, db: db, reg: reg, clock: clock}
}

// span describes one span of a test trace.
type span struct {
	service string // "" means no service.name
	host    string // "" means no host.name
	kind    ptrace.SpanKind
	trace   byte
	id      byte
	parent  byte
	name    string
	dur     time.Duration
	err     bool
	attrs   map[string]any
}

// traces builds one resource per span, as separate SDKs would send them.
func traces(spans ...span) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		if s.service != "" {
			rs.Resource().Attributes().PutStr("service.name", s.service)
		}
		if s.host != "" {
			rs.Resource().Attributes().PutStr("host.name", s.host)
		}
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetKind(s.kind)
		sp.SetTraceID(pcommon.TraceID{s.trace, 1})
		sp.SetSpanID(pcommon.SpanID{s.id, 1})
		if s.parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{s.parent, 1})
		}
		sp.SetName(s.name)
		start := pcommon.NewTimestampFromTime(t0)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + pcommon.Timestamp(s.dur))
		if s.err {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		if s.attrs != nil {
			if err := sp.Attributes().FromRaw(s.attrs); err != nil {
				panic(err)
			}
		}
	}
	return td
}

// series reads back the latest value of every series of metric name matching the given label
// pairs, keyed by the labels other than __name__ in Prometheus's text form.
func (e *testEnv) series(t *testing.T, name string, kv ...string) map[string]float64 {
	t.Helper()
	q, err := e.db.Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	defer q.Close()
	ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, name)}
	for i := 0; i < len(kv); i += 2 {
		ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, kv[i], kv[i+1]))
	}
	ss := q.Select(context.Background(), false, nil, ms...)
	out := map[string]float64{}
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		v := math.NaN()
		for it.Next() != chunkenc.ValNone {
			_, v = it.At()
		}
		require.NoError(t, it.Err())
		out[s.Labels().DropReserved(func(n string) bool { return n == model.MetricNameLabel }).String()] = v
	}
	require.NoError(t, ss.Err())
	return out
}

// value is the single latest value of the series name{kv...}; NaN if there is none.
func (e *testEnv) value(t *testing.T, name string, kv ...string) float64 {
	t.Helper()
	got := e.series(t, name, kv...)
	require.LessOrEqual(t, len(got), 1, "series %s%v: %v", name, kv, got)
	for _, v := range got {
		return v
	}
	return math.NaN()
}

// metric is the value of one of the generator's own metrics (0 if absent).
func (e *testEnv) metric(t *testing.T, name string, kv ...string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i < len(kv); i += 2 {
				if have[kv[i]] != kv[i+1] {
					continue next
				}
			}
			return metricValue(m)
		}
	}
	return 0
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return math.NaN()
}

// flush flushes at the fake clock's time and advances it a second, so flushes never collide.
func (e *testEnv) flush(t *testing.T) {
	t.Helper()
	require.NoError(t, e.g.Flush(e.clock.Now()))
	e.clock.Advance(time.Second)
}

// edges are the edge request counters, as "caller->callee(kind)" → value.
func (e *testEnv) edges(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for k, v := range e.series(t, "faultline_edge_requests_total") {
		ls, err := parseLabels(k)
		require.NoError(t, err)
		out[ls.Get("caller")+"->"+ls.Get("callee")+"("+ls.Get("callee_kind")+")"] = v
	}
	return out
}

func parseLabels(s string) (labels.Labels, error) {
	// s is {a="b", c="d"}; the values in these tests contain no quotes or commas.
	b := labels.NewScratchBuilder(4)
	s = s[1 : len(s)-1]
	var pairs []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || (s[i] == ',' && i+1 < len(s) && s[i+1] == ' ') {
			pairs = append(pairs, s[start:i])
			start = i + 2
		}
	}
	for _, p := range pairs {
		for j := 0; j < len(p); j++ {
			if p[j] == '=' {
				b.Add(p[:j], p[j+2:len(p)-1])
				break
			}
		}
	}
	b.Sort()
	return b.Labels(), nil
}

func keys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
