package servicegraph

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	kClient   = ptrace.SpanKindClient
	kServer   = ptrace.SpanKindServer
	kProducer = ptrace.SpanKindProducer
	kConsumer = ptrace.SpanKindConsumer
)

func TestPairing(t *testing.T) {
	client := span{service: "frontend", kind: kClient, trace: 1, id: 1, name: "GET /cart", dur: 30 * time.Millisecond, attrs: map[string]any{"peer.service": "cart"}}
	server := span{service: "cart", kind: kServer, trace: 1, id: 2, parent: 1, name: "GET /cart", dur: 20 * time.Millisecond}
	producer := span{service: "orders", kind: kProducer, trace: 2, id: 1, name: "publish", dur: time.Millisecond}
	consumer := span{service: "mailer", kind: kConsumer, trace: 2, id: 2, parent: 1, name: "consume", dur: time.Second}
	otherTrace := server
	otherTrace.trace = 9

	tests := []struct {
		name        string
		calls       [][]span
		wantEdges   map[string]float64
		wantPaired  float64
		wantPending float64 // before expiry
	}{
		{"in order, one call", [][]span{{client, server}}, map[string]float64{"frontend->cart(service)": 1}, 1, 0},
		{"reversed, one call", [][]span{{server, client}}, map[string]float64{"frontend->cart(service)": 1}, 1, 0},
		{"in order, two calls", [][]span{{client}, {server}}, map[string]float64{"frontend->cart(service)": 1}, 1, 0},
		{"reversed, two calls", [][]span{{server}, {client}}, map[string]float64{"frontend->cart(service)": 1}, 1, 0},
		{"producer and consumer", [][]span{{consumer}, {producer}}, map[string]float64{"orders->mailer(service)": 1}, 1, 0},
		{"other trace does not pair", [][]span{{client}, {otherTrace}}, map[string]float64{"frontend->cart(uninstrumented)": 1}, 0, 2}, // cart is instrumented: down,
		{"duplicate client is ignored", [][]span{{client}, {client}, {server}}, map[string]float64{"frontend->cart(service)": 1}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, testConfig())
			for _, c := range tt.calls {
				e.g.ConsumeTraces(traces(c...))
				e.clock.Advance(time.Second)
			}
			assert.Equal(t, tt.wantPending, e.metric(t, "faultline_servicegraph_pending_spans"))
			e.g.expireAll()
			e.flush(t)
			assert.Equal(t, tt.wantEdges, e.edges(t))
			assert.Equal(t, tt.wantPaired, e.metric(t, "faultline_servicegraph_edges_total"))
			assert.Equal(t, 0.0, e.metric(t, "faultline_servicegraph_pending_spans"))
		})
	}
}

func TestPairedEdgeDurationIsTheClientSpans(t *testing.T) {
	e := newTestEnv(t, testConfig())
	e.g.ConsumeTraces(traces(
		span{service: "cart", kind: kServer, trace: 1, id: 2, parent: 1, dur: 7 * time.Second},
		span{service: "frontend", kind: kClient, trace: 1, id: 1, dur: 3 * time.Second},
	))
	e.flush(t)
	assert.Equal(t, 3.0, e.value(t, "faultline_edge_duration_seconds_sum", "caller", "frontend", "callee", "cart"))
	assert.Equal(t, 7.0, e.value(t, "faultline_service_duration_seconds_sum", "service", "cart"))
}

func TestClientAloneNamesVirtualCallee(t *testing.T) {
	tests := []struct {
		name       string
		attrs      map[string]any
		known      string // a service that sent SERVER spans before
		wantCallee string
		wantKind   string
	}{
		{"peer.service first", map[string]any{"peer.service": "payments", "server.address": "10.0.0.7", "server.port": 443}, "", "payments", "external"},
		{"peer.service of a database", map[string]any{"peer.service": "orders-db", "db.system": "postgresql", "db.name": "orders"}, "", "orders-db", "database"},
		{"db.name before db.system", map[string]any{"db.system": "postgresql", "db.name": "orders", "server.address": "pg"}, "", "orders", "database"},
		{"db.system alone", map[string]any{"db.system": "mysql"}, "", "mysql", "database"},
		{"new db semconv", map[string]any{"db.system.name": "postgresql", "db.namespace": "stock"}, "", "stock", "database"},
		{"redis is a cache", map[string]any{"db.system": "redis", "server.address": "redis-0", "server.port": 6379}, "", "redis", "cache"},
		{"memcached is a cache", map[string]any{"db.system": "memcached"}, "", "memcached", "cache"},
		{"server.address and port", map[string]any{"server.address": "api.stripe.com", "server.port": 443}, "", "api.stripe.com:443", "external"},
		{"server.address alone", map[string]any{"server.address": "api.stripe.com"}, "", "api.stripe.com", "external"},
		{"server.port as string", map[string]any{"server.address": "geo", "server.port": "8080"}, "", "geo:8080", "external"},
		{"net.peer.name and port", map[string]any{"net.peer.name": "legacy", "net.peer.port": 9000}, "", "legacy:9000", "external"},
		{"server.address before net.peer.name", map[string]any{"net.peer.name": "legacy", "server.address": "modern"}, "", "modern", "external"},
		{"http.host", map[string]any{"http.host": "maps.example.com"}, "", "maps.example.com", "external"},
		{"url.full host", map[string]any{"url.full": "https://user@api.github.com:8443/repos?q=1"}, "", "api.github.com:8443", "external"},
		{"messaging.system", map[string]any{"messaging.system": "kafka"}, "", "kafka", "external"},
		{"nothing names it", map[string]any{"http.method": "GET"}, "", "unknown", "uninstrumented"},
		{"known service by peer.service is down", map[string]any{"peer.service": "inventory"}, "inventory", "inventory", "uninstrumented"},
		{"known service by address host is down", map[string]any{"server.address": "inventory", "server.port": 8080}, "inventory", "inventory", "uninstrumented"},
		{"known service by url host is down", map[string]any{"url.full": "http://inventory:8080/items"}, "inventory", "inventory", "uninstrumented"},
		{"other known service does not matter", map[string]any{"peer.service": "payments"}, "inventory", "payments", "external"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, testConfig())
			if tt.known != "" {
				e.g.ConsumeTraces(traces(span{service: tt.known, kind: kServer, trace: 7, id: 7, name: "GET /"}))
			}
			e.g.ConsumeTraces(traces(span{service: "shop", kind: kClient, trace: 1, id: 1, name: "call", dur: time.Millisecond, attrs: tt.attrs}))
			e.clock.Advance(10 * time.Second)
			e.g.expire(e.clock.Now())
			assert.Equal(t, 1.0, e.metric(t, "faultline_servicegraph_expired_total", "side", "client"))
			e.flush(t)
			assert.Equal(t, map[string]float64{"shop->" + tt.wantCallee + "(" + tt.wantKind + ")": 1}, e.edges(t))
		})
	}
}

func TestClientWaitsForItsChild(t *testing.T) {
	e := newTestEnv(t, testConfig())
	e.g.ConsumeTraces(traces(span{service: "shop", kind: kClient, trace: 1, id: 1, attrs: map[string]any{"peer.service": "cart"}}))
	e.clock.Advance(9 * time.Second)
	e.g.expire(e.clock.Now())
	assert.Equal(t, 1.0, e.metric(t, "faultline_servicegraph_pending_spans"))
	// The child arrives late but within Wait; expiry on consume also runs first.
	e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 1, id: 2, parent: 1}))
	e.flush(t)
	assert.Equal(t, map[string]float64{"shop->cart(service)": 1}, e.edges(t))

	// A child arriving after Wait is too late: the client already counted alone, and
	// consuming anything expires it.
	e.g.ConsumeTraces(traces(span{service: "shop", kind: kClient, trace: 2, id: 1, attrs: map[string]any{"peer.service": "cart"}}))
	e.clock.Advance(11 * time.Second)
	e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 2, id: 2, parent: 1}))
	e.flush(t)
	assert.Equal(t, map[string]float64{"shop->cart(service)": 1, "shop->cart(uninstrumented)": 1}, e.edges(t))
	assert.Equal(t, 1.0, e.metric(t, "faultline_servicegraph_pending_spans"), "the late server span waits for nothing")
}

func TestServerWithoutParent(t *testing.T) {
	tests := []struct {
		name        string
		span        span
		wantExpired float64
	}{
		{"parent never arrives", span{service: "cart", kind: kServer, trace: 1, id: 2, parent: 1, name: "GET /cart"}, 1},
		{"entry point has no parent", span{service: "cart", kind: kServer, trace: 1, id: 2, name: "GET /cart"}, 0},
		{"consumer without producer", span{service: "cart", kind: kConsumer, trace: 1, id: 2, parent: 1, name: "GET /cart"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, testConfig())
			e.g.ConsumeTraces(traces(tt.span))
			e.clock.Advance(time.Minute)
			e.g.expire(e.clock.Now())
			e.flush(t)
			assert.Empty(t, e.edges(t))
			assert.Equal(t, 1.0, e.value(t, "faultline_service_requests_total", "service", "cart", "operation", "GET /cart"))
			assert.Equal(t, tt.wantExpired, e.metric(t, "faultline_servicegraph_expired_total", "side", "server"))
			assert.Equal(t, 0.0, e.metric(t, "faultline_servicegraph_pending_spans"))
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name                         string
		clientErr, serverErr, paired bool
		wantEdgeErrors, wantSvcErrs  float64
	}{
		{"both ok", false, false, true, 0, 0},
		{"client failed", true, false, true, 1, 0},
		{"server failed", false, true, true, 1, 1},
		{"both failed", true, true, true, 1, 1},
		{"lone client failed", true, false, false, 1, 0},
		{"lone client ok", false, false, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, testConfig())
			spans := []span{{service: "shop", kind: kClient, trace: 1, id: 1, err: tt.clientErr, attrs: map[string]any{"peer.service": "cart"}}}
			if tt.paired {
				spans = append(spans, span{service: "cart", kind: kServer, trace: 1, id: 2, parent: 1, name: "op", err: tt.serverErr})
			} else {
				spans = append(spans, span{service: "cart", kind: kServer, trace: 5, id: 5, name: "op"})
			}
			e.g.ConsumeTraces(traces(spans...))
			e.g.expireAll()
			e.flush(t)
			assert.Equal(t, tt.wantEdgeErrors, e.value(t, "faultline_edge_errors_total", "caller", "shop"))
			assert.Equal(t, 1.0, e.value(t, "faultline_edge_requests_total", "caller", "shop"))
			assert.Equal(t, tt.wantSvcErrs, e.value(t, "faultline_service_errors_total", "service", "cart"))
		})
	}
}

func TestMaxPendingEvictsOldest(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPending = 2
	e := newTestEnv(t, cfg)
	for i, name := range []string{"a", "b", "c"} {
		e.g.ConsumeTraces(traces(span{service: "shop", kind: kClient, trace: byte(i + 1), id: 1, attrs: map[string]any{"peer.service": name}}))
	}
	e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 9, id: 2, parent: 1}))
	assert.Equal(t, 2.0, e.metric(t, "faultline_servicegraph_pending_spans"))
	assert.Equal(t, 2.0, e.metric(t, "faultline_servicegraph_evicted_total", "side", "client"))
	assert.Equal(t, 2.0, e.metric(t, "faultline_servicegraph_expired_total", "side", "client"))
	e.flush(t)
	assert.Equal(t, map[string]float64{"shop->a(external)": 1, "shop->b(external)": 1}, e.edges(t))

	// The survivors still pair.
	e.g.ConsumeTraces(traces(span{service: "c", kind: kServer, trace: 3, id: 2, parent: 1}))
	e.flush(t)
	assert.Equal(t, map[string]float64{"shop->a(external)": 1, "shop->b(external)": 1, "shop->c(service)": 1}, e.edges(t))
	assert.Equal(t, 1.0, e.metric(t, "faultline_servicegraph_pending_spans"))
}

func TestFlushWritesExactValues(t *testing.T) {
	e := newTestEnv(t, testConfig())
	durs := []time.Duration{3 * time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 2 * time.Second, 40 * time.Second}
	var spans []span
	for i, d := range durs {
		spans = append(spans, span{service: "cart", kind: kServer, trace: 1, id: byte(i + 1), name: "GET /cart", dur: d, err: i == 3})
	}
	spans = append(spans, span{kind: kConsumer, trace: 2, id: 1, name: "consume", dur: time.Millisecond})
	e.g.ConsumeTraces(traces(spans...))
	e.flush(t)

	sel := []string{"service", "cart", "operation", "GET /cart", "span_kind", "server"}
	assert.Equal(t, 5.0, e.value(t, "faultline_service_requests_total", sel...))
	assert.Equal(t, 1.0, e.value(t, "faultline_service_errors_total", sel...))
	assert.Equal(t, 5.0, e.value(t, "faultline_service_duration_seconds_count", sel...))
	assert.InDelta(t, 42.028, e.value(t, "faultline_service_duration_seconds_sum", sel...), 1e-9)
	wantBuckets := map[string]float64{
		"0.005": 2, "0.01": 2, "0.025": 3, "0.05": 3, "0.1": 3, "0.25": 3, "0.5": 3,
		"1": 3, "2.5": 4, "5": 4, "10": 4, "30": 4, "+Inf": 5,
	}
	gotBuckets := map[string]float64{}
	for k, v := range e.series(t, "faultline_service_duration_seconds_bucket", sel...) {
		ls, err := parseLabels(k)
		require.NoError(t, err)
		gotBuckets[ls.Get("le")] = v
	}
	assert.Equal(t, wantBuckets, gotBuckets)
	assert.Equal(t, 1.0, e.value(t, "faultline_service_requests_total", "service", "unknown_service", "operation", "consume", "span_kind", "consumer"))
	assert.Equal(t, 2.0*17, e.metric(t, "faultline_servicegraph_series"))

	// Values are cumulative: a second flush adds to them.
	e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 3, id: 1, name: "GET /cart", dur: 100 * time.Millisecond}))
	e.flush(t)
	assert.Equal(t, 6.0, e.value(t, "faultline_service_requests_total", sel...))
	assert.Equal(t, 4.0, e.value(t, "faultline_service_duration_seconds_bucket", append(sel, "le", "0.1")...))
	assert.Equal(t, 3.0, e.value(t, "faultline_service_duration_seconds_bucket", append(sel, "le", "0.05")...))
}

func TestCardinalityGuard(t *testing.T) {
	e := newTestEnv(t, testConfig())
	e.g.maxSeries = 2
	for i := range 4 {
		e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 1, id: byte(i + 1), name: fmt.Sprint("op", i%3)}))
	}
	e.flush(t)
	got := e.series(t, "faultline_service_requests_total")
	assert.Equal(t, []string{`{operation="op0", service="cart", span_kind="server"}`, `{operation="op1", service="cart", span_kind="server"}`}, keys(got))
	assert.Equal(t, 2.0, got[`{operation="op0", service="cart", span_kind="server"}`])
	assert.Equal(t, 1.0, e.metric(t, "faultline_servicegraph_dropped_series_total", "group", "service"))
}

func TestFlushOutOfOrderIsReported(t *testing.T) {
	e := newTestEnv(t, testConfig())
	e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 1, id: 1, name: "op"}))
	require.NoError(t, e.g.Flush(t0.Add(time.Minute)))
	e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 1, id: 2, name: "op"}))
	err := e.g.Flush(t0)
	require.Error(t, err)
	assert.Equal(t, 1.0, e.metric(t, "faultline_servicegraph_flush_failures_total"))
	// The next good flush still writes everything.
	require.NoError(t, e.g.Flush(t0.Add(2*time.Minute)))
	assert.Equal(t, 2.0, e.value(t, "faultline_service_requests_total", "service", "cart"))
}

func TestRunFlushesAndDrainsOnShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.FlushInterval = 10 * time.Millisecond
	e := newTestEnv(t, cfg)
	e.g.now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.g.Run(ctx) }()

	e.g.ConsumeTraces(traces(span{service: "cart", kind: kServer, trace: 1, id: 1, name: "op"}))
	require.Eventually(t, func() bool {
		return e.value(t, "faultline_service_requests_total", "service", "cart") == 1
	}, 5*time.Second, 5*time.Millisecond)

	e.g.ConsumeTraces(traces(span{service: "shop", kind: kClient, trace: 2, id: 1, attrs: map[string]any{"db.system": "redis"}}))
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, map[string]float64{"shop->redis(cache)": 1}, e.edges(t))
}

func TestConcurrentConsume(t *testing.T) {
	e := newTestEnv(t, testConfig())
	const workers, perWorker = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				td := traces(
					span{service: "shop", kind: kClient, trace: byte(w + 1), id: byte(i + 1), attrs: map[string]any{"peer.service": "cart"}},
					span{service: "cart", host: "h1", kind: kServer, trace: byte(w + 1), id: byte(i + 1), parent: byte(i + 1), name: "op"},
				)
				e.g.ConsumeTraces(td)
				if i%50 == 0 {
					_ = e.g.Flush(time.Now())
				}
			}
		}()
	}
	wg.Wait()
	e.g.ConsumeTraces(traces(span{service: "cart", host: "h1", kind: kInternal}))
	last := time.Now().Add(time.Hour)
	require.NoError(t, e.g.Flush(last))
	assert.Equal(t, []string{"cart@h1"}, e.hostPairs(t, last))
	assert.Equal(t, float64(workers*perWorker), e.value(t, "faultline_edge_requests_total", "caller", "shop", "callee", "cart"))
	assert.Equal(t, float64(workers*perWorker), e.value(t, "faultline_service_requests_total", "service", "cart"))
}

func TestConfig(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	assert.Equal(t, Config{Wait: 10 * time.Second, MaxPending: 100000, FlushInterval: 15 * time.Second}, cfg)
	require.NoError(t, cfg.Validate())
	require.NoError(t, fs.Parse([]string{"-servicegraph.wait=2s", "-servicegraph.max-pending=5", "-servicegraph.flush-interval=1m"}))
	assert.Equal(t, Config{Wait: 2 * time.Second, MaxPending: 5, FlushInterval: time.Minute}, cfg)

	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"zero wait", Config{MaxPending: 1, FlushInterval: time.Second}},
		{"negative max pending", Config{Wait: time.Second, MaxPending: -1, FlushInterval: time.Second}},
		{"zero flush interval", Config{Wait: time.Second, MaxPending: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidConfig))
			_, err = New(tt.cfg, nil, nil, nil)
			assert.True(t, errors.Is(err, ErrInvalidConfig))
		})
	}
}
