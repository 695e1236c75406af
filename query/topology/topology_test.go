package topology

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/faultline/faultline/internal/metricstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The test window is (winStart, winEnd], 15 minutes, with the default 1h baseline before it.
// Samples are written every step from dataStart, before the baseline's lookback.
var (
	winEnd    = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	winStart  = winEnd.Add(-15 * time.Minute)
	dataStart = winStart.Add(-time.Hour - 10*time.Minute)
)

const (
	step        = 15 * time.Second
	windowSteps = 60 // (winStart, winEnd] at 15s
)

// flow is the traffic of one service operation (server series) or one edge, per step: the
// requests, errors and the latency (seconds) every request of the step took, in the baseline
// period (before winStart) and in the window.
type flow struct {
	service, operation    string // server series
	caller, callee, kind  string // edge series
	baseReq, baseErr      float64
	winReq, winErr        float64
	baseLatency, latency  float64
	firstSample, lastTime time.Time // the series is written in [firstSample, lastTime]; zero: always
	resetAt               time.Time // the writer restarts here: counters start again from 0
}

func (f flow) names() (req, errs, dur string, lset []string) {
	if f.caller != "" {
		return metricstore.EdgeRequests, metricstore.EdgeErrors, metricstore.EdgeDuration,
			[]string{metricstore.LabelCaller, f.caller, metricstore.LabelCallee, f.callee, metricstore.LabelCalleeKind, f.kind}
	}
	return metricstore.ServiceRequests, metricstore.ServiceErrors, metricstore.ServiceDuration,
		[]string{metricstore.LabelService, f.service, metricstore.LabelOperation, f.operation, metricstore.LabelSpanKind, "server"}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openDB(tb testing.TB) *tsdb.DB {
	tb.Helper()
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = 0
	db, err := tsdb.Open(tb.TempDir(), discardLogger(), nil, opts, nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, db.Close()) })
	return db
}

// writeFlows appends the flows' cumulative RED series, one sample per step from dataStart
// to winEnd in time order, as the RED writer would.
func writeFlows(tb testing.TB, db *tsdb.DB, flows []flow) {
	tb.Helper()
	type series struct {
		lset  labels.Labels
		total float64
	}
	type flowSeries struct {
		req, errs *series
		buckets   []*series
	}
	les := append(append([]float64{}, metricstore.DurationBuckets...), math.Inf(1))
	all := make([]flowSeries, len(flows))
	for i, f := range flows {
		reqName, errName, durName, extra := f.names()
		mk := func(name string, more ...string) *series {
			return &series{lset: labels.FromStrings(append(append([]string{model.MetricNameLabel, name}, extra...), more...)...)}
		}
		all[i] = flowSeries{req: mk(reqName), errs: mk(errName), buckets: make([]*series, len(les))}
		for j, le := range les {
			all[i].buckets[j] = mk(durName+"_bucket", labels.BucketLabel, strconv.FormatFloat(le, 'g', -1, 64))
		}
	}
	for t := dataStart; !t.After(winEnd); t = t.Add(step) {
		app := db.Appender(context.Background())
		for i, f := range flows {
			if (!f.firstSample.IsZero() && t.Before(f.firstSample)) || (!f.lastTime.IsZero() && t.After(f.lastTime)) {
				continue
			}
			nReq, nErr, lat := f.baseReq, f.baseErr, f.baseLatency
			if t.After(winStart) {
				nReq, nErr, lat = f.winReq, f.winErr, f.latency
			}
			reset := t.Equal(f.resetAt)
			put := func(s *series, inc float64) {
				if reset {
					s.total = 0
				}
				s.total += inc
				_, err := app.Append(0, s.lset, t.UnixMilli(), s.total)
				require.NoError(tb, err)
			}
			put(all[i].req, nReq)
			put(all[i].errs, nErr)
			for j, le := range les {
				inc := 0.0
				if lat <= le {
					inc = nReq
				}
				put(all[i].buckets[j], inc)
			}
		}
		require.NoError(tb, app.Commit())
	}
}

// The scenario: loadgen → frontend → {checkout, cart}; checkout → {payment, postgres,
// inventory, ledger}; payment → stripe.
//   - frontend: steady, ok (two operations, summed).
//   - cart: 3% errors now and in its baseline: degraded by the absolute threshold only.
//   - checkout: p99 from ~100ms to ~500ms: degraded by latency.
//   - payment: 30% errors: failing; it restarts inside the window (counter reset).
//   - postgres (database): errors 1% → 6%: failing relative to its baseline.
//   - inventory: a service that stopped serving 10 minutes before the window; checkout still
//     calls it (callee_kind uninstrumented, no errors seen by the caller): failing (down).
//   - ledger: an uninstrumented callee that never was a service: ok from its edge.
//   - stripe (external): its edge series is born 5 minutes into the window: counted from 0.
//   - loadgen: a caller with no server series: unknown.
func scenario() []flow {
	const (
		fast   = 0.07  // in (0.05, 0.1]
		slow   = 0.3   // in (0.25, 0.5]
		db     = 0.008 // in (0.005, 0.01]
		cached = 0.04  // in (0.025, 0.05]
	)
	restart := winStart.Add(30 * step)
	return []flow{
		{service: "frontend", operation: "GET /", baseReq: 12, winReq: 12, baseLatency: fast, latency: fast},
		{service: "frontend", operation: "GET /cart", baseReq: 8, winReq: 8, baseLatency: fast, latency: fast},
		{service: "cart", operation: "GetCart", baseReq: 100, baseErr: 3, winReq: 100, winErr: 3, baseLatency: cached, latency: cached},
		{service: "checkout", operation: "PlaceOrder", baseReq: 10, winReq: 10, baseLatency: fast, latency: slow},
		{service: "payment", operation: "Charge", baseReq: 10, winReq: 10, winErr: 3, baseLatency: fast, latency: fast, resetAt: restart},
		{service: "inventory", operation: "Reserve", baseReq: 5, baseLatency: fast, lastTime: winStart.Add(-10 * time.Minute)},

		{caller: "loadgen", callee: "frontend", kind: "service", baseReq: 20, winReq: 20, baseLatency: fast, latency: fast},
		{caller: "frontend", callee: "checkout", kind: "service", baseReq: 10, winReq: 10, baseLatency: fast, latency: slow},
		{caller: "frontend", callee: "cart", kind: "service", baseReq: 100, baseErr: 3, winReq: 100, winErr: 3, baseLatency: cached, latency: cached},
		{caller: "checkout", callee: "payment", kind: "service", baseReq: 10, winReq: 10, winErr: 3, baseLatency: fast, latency: fast},
		{caller: "checkout", callee: "postgres", kind: "database", baseReq: 100, baseErr: 1, winReq: 100, winErr: 6, baseLatency: db, latency: db},
		{caller: "checkout", callee: "inventory", kind: "service", baseReq: 5, baseLatency: fast, lastTime: winStart.Add(-10 * time.Minute)},
		{caller: "checkout", callee: "inventory", kind: "uninstrumented", winReq: 5, latency: 4, firstSample: winStart.Add(-10*time.Minute + step)},
		{caller: "checkout", callee: "ledger", kind: "uninstrumented", baseReq: 2, winReq: 2, baseLatency: fast, latency: fast},
		{caller: "payment", callee: "stripe", kind: "external", winReq: 10, latency: slow, firstSample: winStart.Add(5*time.Minute + step), resetAt: restart},
	}
}

func defaultConfig() Config {
	var cfg Config
	cfg.RegisterFlags(flag.NewFlagSet("test", flag.PanicOnError))
	return cfg
}

func newAPI(tb testing.TB, q storage.Queryable) *API {
	tb.Helper()
	a, err := New(defaultConfig(), nil, q, discardLogger(), prometheus.NewRegistry())
	require.NoError(tb, err)
	return a
}

// Interpolated quantiles of one-bucket distributions, in ms, as histogram_quantile answers.
const (
	p50Fast, p99Fast     float64 = 75, 99.5    // (0.05, 0.1]
	p50Slow, p99Slow     float64 = 375, 497.5  // (0.25, 0.5]
	p50DB, p99DB         float64 = 7.5, 9.95   // (0.005, 0.01]
	p50Cached, p99Cached float64 = 37.5, 49.75 // (0.025, 0.05]
	p50Timeout, p99Time  float64 = 3750, 4975  // (2.5, 5]
	msDelta                      = 1e-6
)

func TestTopology(t *testing.T) {
	db := openDB(t)
	writeFlows(t, db, scenario())
	a := newAPI(t, db)

	topo, err := a.Topology(context.Background(), winStart, winEnd)
	require.NoError(t, err)

	type want struct {
		kind             string
		requests, errors int64
		p50, p99         float64
		health           string
	}
	wantNodes := map[string]want{
		"cart":      {"service", 6000, 180, p50Cached, p99Cached, HealthDegraded},
		"checkout":  {"service", 600, 0, p50Slow, p99Slow, HealthDegraded},
		"frontend":  {"service", 1200, 0, p50Fast, p99Fast, HealthOK},
		"inventory": {"uninstrumented", 300, 0, p50Timeout, p99Time, HealthFailing},
		"ledger":    {"uninstrumented", 120, 0, p50Fast, p99Fast, HealthOK},
		"loadgen":   {"service", 0, 0, 0, 0, HealthUnknown},
		"payment":   {"service", 600, 180, p50Fast, p99Fast, HealthFailing},
		"postgres":  {"database", 6000, 360, p50DB, p99DB, HealthFailing},
		"stripe":    {"external", 400, 0, p50Slow, p99Slow, HealthOK},
	}
	var names []string
	for _, n := range topo.Nodes {
		names = append(names, n.Service)
		w, ok := wantNodes[n.Service]
		if !assert.True(t, ok, "unexpected node %q", n.Service) {
			continue
		}
		t.Run("node/"+n.Service, func(t *testing.T) {
			assert.Equal(t, w.kind, n.Kind)
			assert.Equal(t, w.requests, n.Requests, "requests")
			assert.Equal(t, w.errors, n.Errors, "errors")
			if w.requests > 0 {
				assert.InDelta(t, float64(w.errors)/float64(w.requests), n.ErrorRate, 1e-12, "error rate")
			}
			assert.InDelta(t, w.p50, n.P50Ms, msDelta, "p50")
			assert.InDelta(t, w.p99, n.P99Ms, msDelta, "p99")
			assert.Equal(t, w.health, n.Health, "health")
		})
	}
	assert.Equal(t, []string{"cart", "checkout", "frontend", "inventory", "ledger", "loadgen", "payment", "postgres", "stripe"}, names)

	for _, n := range topo.Nodes {
		assert.Equal(t, n.Service == "inventory", n.Down, n.Service)
	}

	wantEdges := []Edge{
		{Caller: "checkout", Callee: "inventory", Requests: 300, P50Ms: p50Timeout, P99Ms: p99Time, CalleeKind: "uninstrumented"},
		{Caller: "checkout", Callee: "ledger", Requests: 120, P50Ms: p50Fast, P99Ms: p99Fast, CalleeKind: "uninstrumented"},
		{Caller: "checkout", Callee: "payment", Requests: 600, Errors: 180, ErrorRate: 0.3, P50Ms: p50Fast, P99Ms: p99Fast, CalleeKind: "service"},
		{Caller: "checkout", Callee: "postgres", Requests: 6000, Errors: 360, ErrorRate: 0.06, P50Ms: p50DB, P99Ms: p99DB, CalleeKind: "database"},
		{Caller: "frontend", Callee: "cart", Requests: 6000, Errors: 180, ErrorRate: 0.03, P50Ms: p50Cached, P99Ms: p99Cached, CalleeKind: "service"},
		{Caller: "frontend", Callee: "checkout", Requests: 600, P50Ms: p50Slow, P99Ms: p99Slow, CalleeKind: "service"},
		{Caller: "loadgen", Callee: "frontend", Requests: 1200, P50Ms: p50Fast, P99Ms: p99Fast, CalleeKind: "service"},
		{Caller: "payment", Callee: "stripe", Requests: 400, P50Ms: p50Slow, P99Ms: p99Slow, CalleeKind: "external"},
	}
	require.Len(t, topo.Edges, len(wantEdges))
	for i, w := range wantEdges {
		got := topo.Edges[i]
		assert.Equal(t, w.Caller+"→"+w.Callee, got.Caller+"→"+got.Callee)
		assert.Equal(t, w.Requests, got.Requests, "%s→%s requests", w.Caller, w.Callee)
		assert.Equal(t, w.Errors, got.Errors, "%s→%s errors", w.Caller, w.Callee)
		assert.InDelta(t, w.ErrorRate, got.ErrorRate, 1e-12, "%s→%s error rate", w.Caller, w.Callee)
		assert.InDelta(t, w.P50Ms, got.P50Ms, msDelta, "%s→%s p50", w.Caller, w.Callee)
		assert.InDelta(t, w.P99Ms, got.P99Ms, msDelta, "%s→%s p99", w.Caller, w.Callee)
		assert.Equal(t, w.CalleeKind, got.CalleeKind, "%s→%s kind", w.Caller, w.Callee)
	}

	t.Run("baseline", func(t *testing.T) {
		byName := map[string]Node{}
		for _, n := range topo.Nodes {
			byName[n.Service] = n
		}
		// 240 steps of baseline: the hour before winStart.
		assert.Equal(t, int64(2400), byName["checkout"].BaselineRequests)
		assert.InDelta(t, p99Fast, byName["checkout"].BaselineP99Ms, msDelta)
		assert.InDelta(t, 0.01, byName["postgres"].BaselineErrorRate, 1e-12)
		assert.Equal(t, int64(0), byName["stripe"].BaselineRequests)
	})
}

// TestTopologySubWindows checks exact counts for windows that cut a series' life: a window
// inside the baseline period, one ending at the payment restart, and one starting after it.
func TestTopologySubWindows(t *testing.T) {
	db := openDB(t)
	writeFlows(t, db, scenario())
	a := newAPI(t, db)
	restart := winStart.Add(30 * step)

	tests := []struct {
		name                  string
		start, end            time.Time
		paymentReq, paymentEr int64
		stripe                int64
	}{
		{"before the restart", winStart, restart.Add(-step), 290, 87, 90},
		{"across the restart", restart.Add(-2 * step), restart.Add(2 * step), 40, 12, 40},
		{"after the restart", restart, winEnd, 300, 90, 300},
		{"baseline only", winStart.Add(-30 * time.Minute), winStart.Add(-20 * time.Minute), 400, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topo, err := a.Topology(context.Background(), tt.start, tt.end)
			require.NoError(t, err)
			var payment *Node
			for i := range topo.Nodes {
				if topo.Nodes[i].Service == "payment" {
					payment = &topo.Nodes[i]
				}
			}
			require.NotNil(t, payment)
			assert.Equal(t, tt.paymentReq, payment.Requests)
			assert.Equal(t, tt.paymentEr, payment.Errors)
			var stripe int64
			for _, e := range topo.Edges {
				if e.Callee == "stripe" {
					stripe = e.Requests
				}
			}
			assert.Equal(t, tt.stripe, stripe)
		})
	}
}

func TestStaleMarkersAreSkipped(t *testing.T) {
	db := openDB(t)
	app := db.Appender(context.Background())
	lset := labels.FromStrings(model.MetricNameLabel, metricstore.ServiceRequests, metricstore.LabelService, "svc", metricstore.LabelOperation, "op", metricstore.LabelSpanKind, "server")
	vals := []float64{10, 20, math.Float64frombits(value.StaleNaN), 30}
	for i, v := range vals {
		_, err := app.Append(0, lset, winStart.Add(time.Duration(i)*step).UnixMilli(), v)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	topo, err := newAPI(t, db).Topology(context.Background(), winStart, winEnd)
	require.NoError(t, err)
	require.Len(t, topo.Nodes, 1)
	assert.Equal(t, int64(20), topo.Nodes[0].Requests) // base 10 at winStart, then 20, 30
	assert.Equal(t, HealthOK, topo.Nodes[0].Health)
}

func TestHealth(t *testing.T) {
	cfg := defaultConfig()
	tests := []struct {
		name string
		node Node
		want string
	}{
		{"no requests", Node{}, HealthUnknown},
		{"clean", Node{Requests: 100, ErrorRate: 0.01, P99Ms: 100, BaselineRequests: 100, BaselineP99Ms: 90}, HealthOK},
		{"absolute failing", Node{Requests: 100, ErrorRate: 0.2}, HealthFailing},
		{"relative failing", Node{Requests: 100, ErrorRate: 0.05, BaselineRequests: 10, BaselineErrorRate: 0.01}, HealthFailing},
		{"relative below floor", Node{Requests: 100, ErrorRate: 0.04, BaselineRequests: 10, BaselineErrorRate: 0.001}, HealthDegraded},
		{"relative without baseline traffic", Node{Requests: 100, ErrorRate: 0.1}, HealthDegraded},
		{"relative from a clean baseline", Node{Requests: 100, ErrorRate: 0.1, BaselineRequests: 10}, HealthFailing},
		{"absolute degraded", Node{Requests: 100, ErrorRate: 0.02}, HealthDegraded},
		{"latency degraded", Node{Requests: 100, P99Ms: 300, BaselineRequests: 10, BaselineP99Ms: 100}, HealthDegraded},
		{"latency below factor", Node{Requests: 100, P99Ms: 299, BaselineRequests: 10, BaselineP99Ms: 100}, HealthOK},
		{"latency without baseline", Node{Requests: 100, P99Ms: 3000}, HealthOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cfg.health(tt.node))
		})
	}
}

func TestBucketQuantile(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name    string
		q       float64
		buckets []bucket
		want    float64
	}{
		{"interpolated", 0.5, []bucket{{0.1, 0}, {0.2, 10}, {inf, 10}}, 0.15},
		{"first bucket from 0", 0.5, []bucket{{0.1, 10}, {inf, 10}}, 0.05},
		{"in +Inf", 0.99, []bucket{{0.1, 1}, {inf, 10}}, 0.1},
		{"unsorted", 0.5, []bucket{{inf, 10}, {0.2, 10}, {0.1, 0}}, 0.15},
		{"non-monotonic", 0.5, []bucket{{0.1, 4}, {0.2, 2}, {0.3, 10}, {inf, 10}}, 0.2 + 0.1*(1.0/6)},
		{"no +Inf", 0.5, []bucket{{0.1, 4}, {0.2, 10}}, math.NaN()},
		{"empty", 0.5, []bucket{{0.1, 0}, {inf, 0}}, math.NaN()},
		{"one bucket", 0.5, []bucket{{inf, 3}}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bucketQuantile(tt.q, tt.buckets)
			if math.IsNaN(tt.want) {
				assert.True(t, math.IsNaN(got), "got %v", got)
				return
			}
			assert.InDelta(t, tt.want, got, 1e-12)
		})
	}
}

func TestCounterWindow(t *testing.T) {
	tests := []struct {
		name    string
		samples [][2]float64 // t, v
		want    float64
		seen    bool
	}{
		{"no samples", nil, 0, false},
		{"only before", [][2]float64{{5, 3}, {10, 7}}, 0, false},
		{"base then rise", [][2]float64{{5, 3}, {10, 7}, {15, 9}, {20, 12}}, 5, true},
		{"born inside counts from 0", [][2]float64{{15, 4}, {20, 9}}, 9, true},
		{"reset", [][2]float64{{10, 50}, {15, 60}, {18, 2}, {20, 5}}, 15, true},
		{"after window ignored", [][2]float64{{10, 1}, {20, 2}, {25, 100}}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := counterWindow{from: 10, to: 20}
			for _, s := range tt.samples {
				w.add(int64(s[0]), s[1])
			}
			assert.InDelta(t, tt.want, w.inc, 0)
			assert.Equal(t, tt.seen, w.seen)
		})
	}
}

func TestHTTP(t *testing.T) {
	db := openDB(t)
	writeFlows(t, db, scenario())
	a := newAPI(t, db)
	a.now = func() time.Time { return winEnd }
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(t *testing.T, params url.Values) (int, map[string]json.RawMessage) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/topology?" + params.Encode())
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var body map[string]json.RawMessage
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body
	}

	t.Run("contract", func(t *testing.T) {
		for name, params := range map[string]url.Values{
			"default window": {},
			"rfc3339":        {"start": {winStart.Format(time.RFC3339)}, "end": {winEnd.Format(time.RFC3339)}},
			"unix seconds":   {"start": {strconv.FormatInt(winStart.Unix(), 10)}, "end": {strconv.FormatInt(winEnd.Unix(), 10) + ".000"}},
		} {
			t.Run(name, func(t *testing.T) {
				code, body := get(t, params)
				require.Equal(t, http.StatusOK, code)
				var nodes []map[string]any
				require.NoError(t, json.Unmarshal(body["nodes"], &nodes))
				require.Len(t, nodes, 9)
				var keys []string
				for k := range nodes[0] {
					keys = append(keys, k)
				}
				assert.ElementsMatch(t, []string{"service", "kind", "requests", "errors", "error_rate", "p50_ms", "p99_ms", "health"}, keys)
				assertJSONObject(t, map[string]any{
					"service": "cart", "kind": "service", "requests": 6000.0, "errors": 180.0,
					"error_rate": 0.03, "p50_ms": p50Cached, "p99_ms": p99Cached, "health": "degraded",
				}, nodes[0])
				var edges []map[string]any
				require.NoError(t, json.Unmarshal(body["edges"], &edges))
				require.Len(t, edges, 8)
				assertJSONObject(t, map[string]any{
					"caller": "checkout", "callee": "inventory", "requests": 300.0, "errors": 0.0,
					"error_rate": 0.0, "p50_ms": p50Timeout, "p99_ms": p99Time,
				}, edges[0])
			})
		}
	})

	t.Run("empty lists", func(t *testing.T) {
		code, body := get(t, url.Values{"start": {"100"}, "end": {"200"}})
		require.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `[]`, string(body["nodes"]))
		assert.JSONEq(t, `[]`, string(body["edges"]))
	})

	for name, params := range map[string]url.Values{
		"bad start":        {"start": {"yesterday"}},
		"bad end":          {"end": {"12:00"}},
		"start after end":  {"start": {"200"}, "end": {"100"}},
		"empty window":     {"start": {"100"}, "end": {"100"}},
		"before 1970":      {"start": {"-5"}, "end": {"100"}},
		"after 2262":       {"end": {"9999999999999"}},
		"garbage fraction": {"start": {"1.5e3"}},
	} {
		t.Run("400 "+name, func(t *testing.T) {
			code, body := get(t, params)
			assert.Equal(t, http.StatusBadRequest, code)
			var msg string
			require.NoError(t, json.Unmarshal(body["error"], &msg))
			assert.NotEmpty(t, msg)
		})
	}

	t.Run("405", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/api/v1/topology", "text/plain", nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
}

// assertJSONObject compares a decoded JSON object with want: the same keys, strings equal,
// numbers within msDelta (interpolated quantiles are not exact in binary).
func assertJSONObject(t *testing.T, want, got map[string]any) {
	t.Helper()
	require.Len(t, got, len(want), "keys of %v", got)
	for k, w := range want {
		g, ok := got[k]
		require.True(t, ok, "missing %q", k)
		if wf, isNum := w.(float64); isNum {
			gf, ok := g.(float64)
			require.True(t, ok, "%q is %T, want a number", k, g)
			assert.InDelta(t, wf, gf, msDelta, k)
			continue
		}
		assert.Equal(t, w, g, k)
	}
}

func TestConfig(t *testing.T) {
	cfg := defaultConfig()
	require.NoError(t, cfg.Validate())
	assert.Equal(t, Config{DefaultWindow: 15 * time.Minute, Baseline: time.Hour, FailingErrorRate: 0.2, DegradedErrorRate: 0.02, LatencyFactor: 3}, cfg)

	for name, mutate := range map[string]func(*Config){
		"window":         func(c *Config) { c.DefaultWindow = 0 },
		"baseline":       func(c *Config) { c.Baseline = -time.Second },
		"failing":        func(c *Config) { c.FailingErrorRate = 1.5 },
		"failing NaN":    func(c *Config) { c.FailingErrorRate = math.NaN() },
		"degraded":       func(c *Config) { c.DegradedErrorRate = 0.5 },
		"latency factor": func(c *Config) { c.LatencyFactor = 0.5 },
	} {
		t.Run(name, func(t *testing.T) {
			c := defaultConfig()
			mutate(&c)
			require.Error(t, c.Validate())
			_, err := New(c, nil, openDB(t), nil, nil)
			require.Error(t, err)
		})
	}

	_, err := New(defaultConfig(), nil, nil, nil, nil)
	require.ErrorIs(t, err, ErrNoQueryable)
}

func TestBaselineOff(t *testing.T) {
	db := openDB(t)
	writeFlows(t, db, scenario())
	cfg := defaultConfig()
	cfg.Baseline = 0
	a, err := New(cfg, nil, db, nil, nil)
	require.NoError(t, err)
	topo, err := a.Topology(context.Background(), winStart, winEnd)
	require.NoError(t, err)
	health := map[string]string{}
	for _, n := range topo.Nodes {
		health[n.Service] = n.Health
	}
	// Without a baseline, checkout's latency and postgres's error jump are not judged.
	assert.Equal(t, HealthOK, health["checkout"])
	assert.Equal(t, HealthDegraded, health["postgres"])
	assert.Equal(t, HealthFailing, health["payment"])
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		q          url.Values
		start, end time.Time
	}{
		{"defaults", url.Values{}, now.Add(-15 * time.Minute), now},
		{"end only", url.Values{"end": {"1767225600"}}, time.Unix(1767225600, 0).Add(-15 * time.Minute), time.Unix(1767225600, 0)},
		{"fractional", url.Values{"start": {"1767225599.5"}}, time.Unix(1767225599, 5e8), now},
		{"nanoseconds", url.Values{"start": {"1767225599.123456789123"}}, time.Unix(1767225599, 123456789), now},
		{"rfc3339 offset", url.Values{"start": {"2025-12-31T23:00:00+01:00"}}, now.Add(-2 * time.Hour), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, err := ParseWindow(tt.q, now, 15*time.Minute)
			require.NoError(t, err)
			assert.True(t, tt.start.Equal(start), "start %s, want %s", start, tt.start)
			assert.True(t, tt.end.Equal(end), "end %s, want %s", end, tt.end)
		})
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""},
		{"1767225600", "1767226500"},
		{"2026-01-01T00:00:00Z", "2026-01-01T00:15:00.5Z"},
		{"-1", "5"},
		{"1.", "2"},
		{".5", "1"},
		{"9223372036.854775807", ""},
		{"99999999999999999999", ""},
		{"1e9", ""},
		{"0x10", ""},
		{"--1", ""},
		{"2262-04-11T23:47:16.854775808Z", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, start, end string) {
		q := url.Values{}
		if start != "" {
			q.Set("start", start)
		}
		if end != "" {
			q.Set("end", end)
		}
		s, e, err := ParseWindow(q, now, 15*time.Minute)
		if err != nil {
			if !IsParamError(err) {
				t.Fatalf("error %v is not a parameter error", err)
			}
			return
		}
		if !s.Before(e) {
			t.Fatalf("start %s not before end %s", s, e)
		}
		if s.Before(time.Unix(0, 0)) || e.After(maxTime) {
			t.Fatalf("window %s..%s out of range", s, e)
		}
	})
}
