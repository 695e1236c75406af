package rca

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/faultline/faultline/collector/servicegraph"
	"github.com/faultline/faultline/internal/metricstore"
	"github.com/faultline/faultline/internal/spanstore"
)

// A synthetic world: a topology of services and the dependencies they call, and faults that
// change how its nodes behave over time. Every step of worldStep it sends traces through the
// topology and writes them where production writes them: into a real span store and, through
// the real service-graph Generator, as RED series into a real TSDB, flushed at the step's end.

// TestMain closes the benchmarks' world, built once per process, and checks that no test
// leaked a goroutine.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := closeBenchWorld(); err != nil {
		fmt.Fprintln(os.Stderr, "close the benchmark's world:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// worldT0 is when every synthetic world begins: a fixed past time, on a minute.
var worldT0 = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// worldStep is the generator's flush interval and the engine's step.
const worldStep = 15 * time.Second

// netDelay is the time a request spends on the wire each way.
const netDelay = 300 * time.Microsecond

// at is the time d into every world.
func at(d time.Duration) time.Time { return worldT0.Add(d) }

// node is an instrumented service, or a dependency that sends no spans of its own (a
// database, a cache, an external API): its callers' CLIENT spans name it.
type node struct {
	kind    string        // metricstore.KindService, KindDatabase, KindCache or KindExternal
	op      string        // a service's SERVER span name; a dependency's CLIENT span name
	work    time.Duration // a service's own time per request; a dependency's response time
	errRate float64       // share of requests failing on their own, normally
	// Calls made for every request, one after the other unless parallel; with pick > 0 only
	// that many of them, chosen at random (a router).
	calls    []call
	parallel bool
	pick     int
}

// call is a service's call to another node.
type call struct {
	to       string
	timeout  time.Duration // the caller gives up after this; 0: it waits
	retries  int           // further attempts after a failed one
	fallback bool          // a call still failing after its retries is caught: the caller carries on
	// peerService: the CLIENT span also names its callee in peer.service, as some
	// instrumentations do; by default a call to a service names it only by server.address and
	// server.port, as the HTTP semantic conventions require.
	peerService bool
}

// topology is a world's nodes; requests enter at entry.
type topology struct {
	entry string
	nodes map[string]node
}

func service(op string, work time.Duration, calls ...call) node {
	return node{kind: metricstore.KindService, op: op, work: work, calls: calls}
}

func dependency(kind, op string, work time.Duration) node {
	return node{kind: kind, op: op, work: work}
}

// effect is what a fault does to a node at one time.
type effect struct {
	latency time.Duration // extra own time (a dependency: extra response time)
	errRate float64       // share of requests failing on their own, when above the normal
	down    bool          // a service answers nothing: its callers' connections are refused
	drop    bool          // a service works but its spans are lost
	storm   int           // a caller sends each of its calls this many times at once
}

// fault tells what happens to a node at a time.
type fault func(node string, t time.Time) effect

func noFault(string, time.Time) effect { return effect{} }

// during is e on node n from offset from to offset to into the world (to 0: for ever).
func during(n string, from, to time.Duration, e effect) fault {
	return func(m string, t time.Time) effect {
		if m != n || t.Before(at(from)) || to > 0 && !t.Before(at(to)) {
			return effect{}
		}
		return e
	}
}

// faults is several faults at once.
func faults(fs ...fault) fault {
	return func(n string, t time.Time) effect {
		var e effect
		for _, f := range fs {
			x := f(n, t)
			e.latency += x.latency
			e.errRate = max(e.errRate, x.errRate)
			e.down = e.down || x.down
			e.drop = e.drop || x.drop
			e.storm = max(e.storm, x.storm)
		}
		return e
	}
}

// world is a topology running with faults, written into real stores.
type world struct {
	tb      testing.TB
	topo    topology
	fault   fault
	perStep int // traces started per step
	rng     *rand.Rand
	now     time.Time // the latest flush: the world has run up to here
	lastID  uint64

	spans   *spanstore.Store
	metrics *metricstore.Store
	gen     *servicegraph.Generator
	tick    ptrace.Traces // no spans: lets the generator expire lone CLIENT spans
}

// newWorld opens a world in a temporary directory, closed when the test ends.
func newWorld(tb testing.TB, topo topology, perStep int, f fault) *world {
	tb.Helper()
	w, err := openWorld(tb, tb.TempDir(), topo, perStep, f)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, w.close()) })
	return w
}

// openWorld opens the stores of a world in dir; tb reports the failures of its steps.
func openWorld(tb testing.TB, dir string, topo topology, perStep int, f fault) (*world, error) {
	fs := flag.NewFlagSet("world", flag.ContinueOnError)
	var scfg spanstore.Config
	scfg.RegisterFlags(fs)
	var mcfg metricstore.Config
	mcfg.RegisterFlags(fs)
	spans, err := spanstore.Open(scfg, filepath.Join(dir, "spans"), false, nil, nil)
	if err != nil {
		return nil, err
	}
	metrics, err := metricstore.Open(mcfg, filepath.Join(dir, "tsdb"), nil, nil)
	if err != nil {
		return nil, errors.Join(err, spans.Close())
	}
	// The generator pairs spans and expires lone CLIENT spans on the wall clock: with a tiny
	// Wait every call without a SERVER child becomes an edge to a virtual node at the next
	// ConsumeTraces, which step makes happen before each flush.
	gen, err := servicegraph.New(servicegraph.Config{Wait: time.Nanosecond, MaxPending: 1 << 20, FlushInterval: worldStep},
		metrics.Appendable(), nil, nil)
	if err != nil {
		return nil, errors.Join(err, spans.Close(), metrics.Close())
	}
	tick := ptrace.NewTraces()
	tick.ResourceSpans().AppendEmpty()
	return &world{
		tb: tb, topo: topo, fault: f, perStep: perStep, rng: rand.New(rand.NewPCG(7, 11)), now: worldT0,
		spans: spans, metrics: metrics, gen: gen, tick: tick,
	}, nil
}

func (w *world) close() error {
	var errs []error
	if w.spans != nil { // nil when the benchmark failed to reopen it
		errs = append(errs, w.spans.Close())
	}
	return errors.Join(append(errs, w.metrics.Close())...)
}

// runUntil runs the world step by step up to end (an offset into it).
func (w *world) runUntil(end time.Duration) {
	w.tb.Helper()
	for w.now.Before(at(end)) {
		w.step()
	}
}

// step sends one step's traces, stores them and flushes the RED series at the step's end.
func (w *world) step() {
	w.tb.Helper()
	from := w.now
	batch := make([]ptrace.Traces, 0, w.perStep)
	slot := worldStep / time.Duration(w.perStep)
	for i := range w.perStep {
		start := from.Add(time.Duration(i)*slot + time.Duration(w.rng.Int64N(int64(slot))))
		batch = append(batch, w.trace(start))
	}
	for len(batch) > 0 { // a collector writes batches of bounded size
		n := min(len(batch), 2000)
		require.NoError(w.tb, w.spans.Write(context.Background(), batch[:n]...))
		for _, td := range batch[:n] {
			w.gen.ConsumeTraces(td)
		}
		batch = batch[n:]
	}
	time.Sleep(time.Microsecond) // past Wait on the wall clock
	w.gen.ConsumeTraces(w.tick)
	w.now = from.Add(worldStep)
	require.NoError(w.tb, w.gen.Flush(w.now))
}

// engine is an engine over the world's stores with cfg.
func (w *world) engine(cfg Config) *Engine {
	w.tb.Helper()
	e, err := New(cfg, w.metrics.Queryable(), w.spans, discardLogger(), nil)
	require.NoError(w.tb, err)
	return e
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// defaultConfig is the engine's configuration with the flags' defaults.
func defaultConfig() Config {
	var cfg Config
	cfg.RegisterFlags(flag.NewFlagSet("rca", flag.ContinueOnError))
	return cfg
}

func (w *world) spanID() pcommon.SpanID {
	w.lastID++
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], w.lastID)
	return id
}

// jitter is d give or take 20%.
func (w *world) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*w.rng.Float64()))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// traceGen builds one trace, one resource per service as each service's SDK exports it.
type traceGen struct {
	w   *world
	id  pcommon.TraceID
	td  ptrace.Traces
	res map[string]ptrace.SpanSlice
}

// trace is one request entering the world at start.
func (w *world) trace(start time.Time) ptrace.Traces {
	g := &traceGen{w: w, td: ptrace.NewTraces(), res: map[string]ptrace.SpanSlice{}}
	binary.BigEndian.PutUint64(g.id[:8], w.rng.Uint64())
	binary.BigEndian.PutUint64(g.id[8:], w.rng.Uint64())
	g.serve(w.topo.entry, pcommon.SpanID{}, start)
	return g.td
}

// span adds a span of service (lost when the service's spans are dropped).
func (g *traceGen) span(service string, id, parent pcommon.SpanID, kind ptrace.SpanKind, name string, start, end time.Time) ptrace.Span {
	spans, ok := g.res[service]
	if !ok {
		if g.w.fault(service, start).drop {
			spans = ptrace.NewSpanSlice()
		} else {
			rs := g.td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", service)
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("synthetic")
			spans = ss.Spans()
		}
		g.res[service] = spans
	}
	sp := spans.AppendEmpty()
	sp.SetTraceID(g.id)
	sp.SetSpanID(id)
	sp.SetParentSpanID(parent)
	sp.SetKind(kind)
	sp.SetName(name)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	return sp
}

// fail marks a span failed as OpenTelemetry SDKs do: status Error and an exception event.
func fail(sp ptrace.Span, typ, msg string) {
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage(msg)
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(sp.EndTimestamp())
	ev.Attributes().PutStr("exception.type", typ)
	ev.Attributes().PutStr("exception.message", msg)
}

// serve is service n answering a request that arrives at start from the call parent: its
// own work, half before and half after its calls. It returns when the answer left and
// whether it is an error.
func (g *traceGen) serve(n string, parent pcommon.SpanID, start time.Time) (time.Time, bool) {
	nd, e := g.w.topo.nodes[n], g.w.fault(n, start)
	id := g.w.spanID()
	own := g.w.jitter(nd.work) + e.latency
	begin := start.Add(own / 2)
	cursor := begin
	calls := nd.calls
	if nd.pick > 0 {
		calls = make([]call, nd.pick)
		for i := range calls {
			calls[i] = nd.calls[g.w.rng.IntN(len(nd.calls))]
		}
	}
	failedCall := ""
	for _, c := range calls {
		from := cursor
		if nd.parallel {
			from = begin
		}
		done := from
		for range max(1, e.storm) {
			end, ok := g.attempts(n, id, c, from)
			done = later(done, end)
			if !ok && failedCall == "" {
				failedCall = c.to
			}
		}
		cursor = later(cursor, done)
	}
	end := cursor.Add(own - own/2)
	ownErr := g.w.rng.Float64() < max(nd.errRate, e.errRate)
	sp := g.span(n, id, parent, ptrace.SpanKindServer, nd.op, start, end)
	sp.Attributes().PutStr("http.request.method", "GET")
	sp.Attributes().PutStr("http.route", nd.op)
	status := int64(200)
	switch {
	case failedCall != "":
		status = 502
		fail(sp, "UpstreamError", "call to "+failedCall+" failed")
	case ownErr:
		status = 500
		fail(sp, "IllegalStateException", "invariant violated in "+n)
	}
	sp.Attributes().PutInt("http.response.status_code", status)
	return end, failedCall != "" || ownErr
}

// attempts is a call with its retries; ok is false when it still failed and is not caught.
func (g *traceGen) attempts(caller string, parent pcommon.SpanID, c call, from time.Time) (time.Time, bool) {
	for range c.retries + 1 {
		end, ok := g.call(caller, parent, c, from)
		if ok {
			return end, true
		}
		from = end.Add(time.Millisecond) // back off
	}
	return from, c.fallback
}

// call is one attempt of a call: the caller's CLIENT span and the callee's answer, if any.
func (g *traceGen) call(caller string, parent pcommon.SpanID, c call, start time.Time) (time.Time, bool) {
	callee, e := g.w.topo.nodes[c.to], g.w.fault(c.to, start)
	id := g.w.spanID()
	var end time.Time
	var errType, msg string
	switch {
	case e.down:
		end = start.Add(time.Millisecond)
		errType, msg = "*net.OpError", "dial tcp 10.0.7.12:8080: connect: connection refused"
	case callee.kind == metricstore.KindService:
		answered, failed := g.serve(c.to, id, start.Add(netDelay))
		end = answered.Add(netDelay)
		if failed {
			errType, msg = "HTTPError", "502 Bad Gateway"
		}
	default: // a dependency answers by itself
		end = start.Add(g.w.jitter(callee.work) + e.latency)
		if g.w.rng.Float64() < max(callee.errRate, e.errRate) {
			errType, msg = dependencyError(callee.kind)
		}
	}
	if c.timeout > 0 && end.Sub(start) > c.timeout {
		end = start.Add(c.timeout)
		errType, msg = "context.deadlineExceededError", "context deadline exceeded"
	}
	name := "GET"
	switch callee.kind {
	case metricstore.KindDatabase, metricstore.KindCache:
		name = callee.op
	case metricstore.KindExternal:
		name = "POST"
	}
	sp := g.span(caller, id, parent, ptrace.SpanKindClient, name, start, end)
	a := sp.Attributes()
	switch callee.kind {
	case metricstore.KindService: // HTTP semantic conventions: the address names the callee
		a.PutStr("http.request.method", "GET")
		a.PutStr("server.address", c.to)
		a.PutInt("server.port", 8080)
		a.PutStr("url.full", "http://"+c.to+":8080"+callee.op)
		if c.peerService {
			a.PutStr("peer.service", c.to)
		}
	case metricstore.KindDatabase:
		a.PutStr("db.system", "postgresql")
		a.PutStr("db.name", c.to)
		a.PutStr("db.statement", callee.op+" WHERE id = $1")
		a.PutStr("server.address", c.to+".db.internal")
	case metricstore.KindCache:
		a.PutStr("db.system", c.to) // a cache is named by its system
		a.PutStr("server.address", c.to+".internal")
		a.PutInt("server.port", 6379)
	case metricstore.KindExternal:
		a.PutStr("peer.service", c.to)
		a.PutStr("server.address", "api."+c.to+".com")
		a.PutInt("server.port", 443)
	}
	if msg != "" {
		fail(sp, errType, msg)
	}
	return end, msg == ""
}

func dependencyError(kind string) (typ, msg string) {
	switch kind {
	case metricstore.KindDatabase:
		return "*pgconn.PgError", "ERROR: deadlock detected (SQLSTATE 40P01)"
	case metricstore.KindCache:
		return "redis.Error", "READONLY You can't write against a read only replica."
	}
	return "HTTPError", "503 Service Unavailable"
}

// shop is the topology of most scenarios:
//
//	frontend ─┬─> catalog ─┬─> redis (cache)
//	          │            └─> recommendations ──> products (database)     (caught on failure)
//	          └─> checkout ─┬─> cart ──> redis                              (retried)
//	                        ├─> payments ──> stripe (external)
//	                        └─> orders (database)
func shop() topology {
	catalog := service("GET /catalog", 8*time.Millisecond,
		call{to: "redis"},
		call{to: "recommendations", timeout: 300 * time.Millisecond, fallback: true})
	catalog.parallel = true
	payments := service("POST /pay", 12*time.Millisecond, call{to: "stripe", timeout: 2 * time.Second})
	payments.errRate = 0.002
	stripe := dependency(metricstore.KindExternal, "POST /v1/charges", 60*time.Millisecond)
	stripe.errRate = 0.003
	return topology{entry: "frontend", nodes: map[string]node{
		"frontend": service("GET /", 5*time.Millisecond,
			call{to: "catalog", timeout: time.Second},
			call{to: "checkout", timeout: 3 * time.Second}),
		"catalog":         catalog,
		"recommendations": service("GET /recommendations", 15*time.Millisecond, call{to: "products"}),
		"checkout": service("POST /checkout", 10*time.Millisecond,
			call{to: "cart", retries: 4},
			call{to: "payments", timeout: time.Second},
			call{to: "orders"}),
		"cart":     service("GET /cart", 3*time.Millisecond, call{to: "redis"}),
		"payments": payments,
		"redis":    dependency(metricstore.KindCache, "HGETALL", time.Millisecond),
		"products": dependency(metricstore.KindDatabase, "SELECT products", 4*time.Millisecond),
		"orders":   dependency(metricstore.KindDatabase, "INSERT orders", 5*time.Millisecond),
		"stripe":   stripe,
	}}
}

// TestWorld checks the fixture against the real pipeline: the service graph sees the shop's
// edges with the kinds their CLIENT spans imply, a dead service's callers get edges to it as
// an uninstrumented node, and the span store holds whole traces.
func TestWorld(t *testing.T) {
	t.Parallel()
	w := newWorld(t, shop(), 8, faults(
		during("payments", time.Minute, 0, effect{down: true}),
		during("recommendations", time.Minute, 0, effect{drop: true})))
	w.runUntil(2 * time.Minute)

	q, err := w.metrics.Queryable().Querier(at(0).UnixMilli(), at(time.Hour).UnixMilli())
	require.NoError(t, err)
	defer func() { require.NoError(t, q.Close()) }()
	edges := map[string]bool{}
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, metricstore.EdgeRequests))
	for set.Next() {
		l := set.At().Labels()
		edges[l.Get(metricstore.LabelCaller)+" -> "+l.Get(metricstore.LabelCallee)+" "+l.Get(metricstore.LabelCalleeKind)] = true
	}
	require.NoError(t, set.Err())
	assert.ElementsMatch(t, []string{
		"frontend -> catalog service",
		"frontend -> checkout service",
		"catalog -> redis cache",
		"catalog -> recommendations service",
		"catalog -> recommendations uninstrumented", // its spans are lost from minute 1
		"recommendations -> products database",
		"checkout -> cart service",
		"cart -> redis cache",
		"checkout -> payments service",
		"checkout -> payments uninstrumented", // down from minute 1
		"payments -> stripe external",
		"checkout -> orders database",
	}, slices.Collect(maps.Keys(edges)))

	services, err := w.spans.Services(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"cart", "catalog", "checkout", "frontend", "payments", "recommendations"}, services)
	found, err := w.spans.FindTraces(context.Background(), spanstore.Query{Start: at(0), End: at(time.Minute - time.Second), Limit: 1})
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, 16, found[0].SpanCount, "every node of the shop in one trace")
	assert.Equal(t, "frontend", found[0].RootService)
}
