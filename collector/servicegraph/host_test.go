package servicegraph

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var kInternal = ptrace.SpanKindInternal

// hostPairs are the faultline_service_host_info series with a sample at exactly ts, as
// "service@host" sorted; each sample must be 1.
func (e *testEnv) hostPairs(t *testing.T, ts time.Time) []string {
	t.Helper()
	ms := ts.UnixMilli()
	q, err := e.db.Querier(ms, ms)
	require.NoError(t, err)
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, "faultline_service_host_info"))
	out := []string{}
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		for it.Next() != chunkenc.ValNone {
			st, v := it.At()
			if st != ms {
				continue
			}
			require.Equal(t, 1.0, v, s.Labels().String())
			require.Equal(t, 3, s.Labels().Len(), "only __name__, host_name and service: %s", s.Labels())
			out = append(out, s.Labels().Get("service")+"@"+s.Labels().Get("host_name"))
		}
		require.NoError(t, it.Err())
	}
	require.NoError(t, ss.Err())
	sort.Strings(out)
	return out
}

// flushAt flushes at the fake clock's time and returns that time.
func (e *testEnv) flushAt(t *testing.T) time.Time {
	t.Helper()
	now := e.clock.Now()
	e.flush(t)
	return now
}

func TestServiceHostInfo(t *testing.T) {
	e := newTestEnv(t, testConfig())
	e.g.ConsumeTraces(traces(
		span{service: "cart", host: "h1", kind: kServer, trace: 1, id: 1, name: "GET /cart"},
		span{service: "cart", host: "h1", kind: kInternal, trace: 1, id: 2},
		span{service: "cart", host: "h2", kind: kServer, trace: 2, id: 1, name: "GET /cart"},
		span{service: "shop", host: "h2", kind: kClient, trace: 3, id: 1}, // any span kind counts
		span{service: "mailer", kind: kServer, trace: 4, id: 1},           // no host.name
		span{host: "h3", kind: kServer, trace: 5, id: 1},                  // no service.name
	))
	first := e.flushAt(t)
	assert.Equal(t, []string{"cart@h1", "cart@h2", "shop@h2", "unknown_service@h3"}, e.hostPairs(t, first))
	// 3 service label sets (cart, mailer, unknown_service) of 17 series each, and the 4 pairs.
	assert.Equal(t, 3.0*17+4, e.metric(t, "faultline_servicegraph_series"))

	// Only what was seen since the previous flush is written: cart left h1.
	e.g.ConsumeTraces(traces(span{service: "cart", host: "h2", kind: kServer, trace: 6, id: 1, name: "GET /cart"}))
	second := e.flushAt(t)
	assert.Equal(t, []string{"cart@h2"}, e.hostPairs(t, second))

	// Nothing seen: nothing written, and every pair is forgotten.
	third := e.flushAt(t)
	assert.Empty(t, e.hostPairs(t, third))
	assert.Equal(t, 3.0*17, e.metric(t, "faultline_servicegraph_series"))
	e.g.mu.Lock()
	assert.Empty(t, e.g.hosts)
	e.g.mu.Unlock()

	// A forgotten pair comes back into the same series.
	e.g.ConsumeTraces(traces(span{service: "cart", host: "h1", kind: kInternal, trace: 7, id: 1}))
	fourth := e.flushAt(t)
	assert.Equal(t, []string{"cart@h1"}, e.hostPairs(t, fourth))
	assert.Len(t, e.series(t, "faultline_service_host_info", "service", "cart", "host_name", "h1"), 1)
	assert.Equal(t, 0.0, e.metric(t, "faultline_servicegraph_dropped_series_total", "group", "host"))
}

func TestServiceHostInfoSkipsResourcesWithoutSpans(t *testing.T) {
	e := newTestEnv(t, testConfig())
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "idle")
	rs.Resource().Attributes().PutStr("host.name", "h1")
	rs.ScopeSpans().AppendEmpty() // a scope, but no span
	rs = td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "busy")
	rs.Resource().Attributes().PutInt("host.name", 7) // not a string: no host
	rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	e.g.ConsumeTraces(td)
	assert.Empty(t, e.hostPairs(t, e.flushAt(t)))
}

func TestServiceHostCardinalityGuard(t *testing.T) {
	e := newTestEnv(t, testConfig())
	e.g.maxSeries = 2
	e.g.ConsumeTraces(traces(
		span{service: "a", host: "h1", kind: kInternal, trace: 1, id: 1},
		span{service: "b", host: "h1", kind: kInternal, trace: 1, id: 2},
		span{service: "c", host: "h1", kind: kInternal, trace: 1, id: 3},
		span{service: "a", host: "h1", kind: kInternal, trace: 1, id: 4}, // known: still recorded
		span{service: "d", host: "h1", kind: kInternal, trace: 1, id: 5},
	))
	assert.Equal(t, 2.0, e.metric(t, "faultline_servicegraph_dropped_series_total", "group", "host"))
	assert.Equal(t, []string{"a@h1", "b@h1"}, e.hostPairs(t, e.flushAt(t)))

	// The bound is on the pairs of one interval: once a and b are idle for one, c gets in.
	e.flush(t)
	e.g.ConsumeTraces(traces(span{service: "c", host: "h1", kind: kInternal, trace: 2, id: 1}))
	assert.Equal(t, []string{"c@h1"}, e.hostPairs(t, e.flushAt(t)))
	assert.Equal(t, 2.0, e.metric(t, "faultline_servicegraph_dropped_series_total", "group", "host"))
}

// failingCommit wraps the real TSDB and refuses commits while fail is set: a TSDB commit
// failure (a full disk under the WAL) cannot be produced on demand otherwise.
type failingCommit struct {
	storage.Appendable
	fail bool
}

func (f *failingCommit) Appender(ctx context.Context) storage.Appender {
	app := f.Appendable.Appender(ctx)
	if !f.fail {
		return app
	}
	return failingAppender{app}
}

type failingAppender struct{ storage.Appender }

func (a failingAppender) Commit() error {
	_ = a.Rollback()
	return errors.New("disk full")
}

func TestServiceHostInfoSurvivesAFailedCommit(t *testing.T) {
	e := newTestEnv(t, testConfig())
	app := &failingCommit{Appendable: e.db, fail: true}
	e.g.app = app
	e.g.ConsumeTraces(traces(span{service: "cart", host: "h1", kind: kInternal, trace: 1, id: 1}))
	require.ErrorContains(t, e.g.Flush(e.clock.Now()), "disk full")
	assert.Equal(t, 1.0, e.metric(t, "faultline_servicegraph_flush_failures_total"))
	e.clock.Advance(time.Second)

	app.fail = false
	assert.Equal(t, []string{"cart@h1"}, e.hostPairs(t, e.flushAt(t)), "the pair seen before the failed flush is written by the next one")
}
