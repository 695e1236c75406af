package servicegraph

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/faultline/faultline/internal/metricstore"
)

// UnknownService is the service of spans whose resource has no service.name.
const UnknownService = "unknown_service"

// knownServiceTTL is how long after its last SERVER/CONSUMER span a service still counts as
// instrumented, so that a lone CLIENT span calling it marks it uninstrumented (down) rather
// than external.
const knownServiceTTL = time.Hour

// maxKnownServices bounds the set of instrumented services remembered for knownServiceTTL.
const maxKnownServices = 100_000

// Generator turns spans into service RED series and caller → callee edge series, and appends
// them to the metrics TSDB every FlushInterval. See doc.go for the semantics.
type Generator struct {
	cfg    Config
	app    storage.Appendable
	logger *slog.Logger
	now    func() time.Time

	mu        sync.Mutex
	pending   pendingSet
	services  map[seriesKey]*redSeries
	edges     map[seriesKey]*redSeries
	series    []*redSeries            // every series, in creation order; append-only
	known     map[string]int64        // service → last SERVER/CONSUMER span, Unix ns
	hostPorts map[hostPort]string     // cache of "host:port" callee names
	hosts     map[hostKey]*hostSeries // (service, host.name) pairs of the last two flush intervals
	maxSeries int                     // per family, and host pairs; maxSeriesPerFamily except in tests
	// hostSeries is the number of faultline_service_host_info series the last flush wrote.
	hostSeries int

	flushMu  sync.Mutex
	flushBuf []float64
	hostBuf  []*hostSeries

	metrics *metrics
}

// New returns a generator writing to app. It validates cfg and registers its metrics on reg
// (nil: not registered).
func New(cfg Config, app storage.Appendable, logger *slog.Logger, reg prometheus.Registerer) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if app == nil {
		return nil, fmt.Errorf("%w: no appendable storage", ErrInvalidConfig)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register servicegraph metrics: %w", err)
	}
	return &Generator{
		cfg:       cfg,
		app:       app,
		logger:    logger,
		now:       time.Now,
		pending:   newPendingSet(),
		services:  make(map[seriesKey]*redSeries),
		edges:     make(map[seriesKey]*redSeries),
		known:     make(map[string]int64),
		hostPorts: make(map[hostPort]string),
		hosts:     make(map[hostKey]*hostSeries),
		maxSeries: maxSeriesPerFamily,
		metrics:   m,
	}, nil
}

// batchStats accumulates the counters of one ConsumeTraces call, published once at its end.
type batchStats struct {
	paired                       int
	expiredClient, expiredServer int
	evictedClient, evictedServer int
	droppedService, droppedEdge  int
	droppedHost                  int
	pending, series, hostSeries  int
}

// ConsumeTraces updates the series and pairs the spans of td. It never touches the TSDB, holds
// the generator's lock once per resource, allocates nothing per span once its maps have grown,
// and is safe for concurrent calls. td is only read, and not retained.
func (g *Generator) ConsumeTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	if rss.Len() == 0 {
		return
	}
	now := g.now().UnixNano()
	var st batchStats
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service, host := UnknownService, ""
		for k, v := range rs.Resource().Attributes().All() {
			switch k {
			case "service.name":
				if s := str(v); s != "" {
					service = s
				}
			case "host.name":
				host = str(v)
			}
		}
		g.mu.Lock()
		g.expireLocked(now, &st)
		sawServer, sawSpan := false, false
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			sawSpan = sawSpan || spans.Len() > 0
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				switch span.Kind() {
				case ptrace.SpanKindServer, ptrace.SpanKindConsumer:
					g.consumeServer(service, span, now, &st)
					sawServer = true
				case ptrace.SpanKindClient, ptrace.SpanKindProducer:
					g.consumeClient(service, span, now, &st)
				}
			}
		}
		if sawServer {
			if _, ok := g.known[service]; ok || len(g.known) < maxKnownServices {
				g.known[service] = now
			}
		}
		if sawSpan && host != "" {
			g.observeHost(service, host, &st)
		}
		g.sizesLocked(&st)
		g.mu.Unlock()
	}
	g.publish(&st)
}

// sizesLocked records the sizes the gauges show. Called under g.mu.
func (g *Generator) sizesLocked(st *batchStats) {
	st.pending, st.series, st.hostSeries = g.pending.len(), len(g.series), g.hostSeries
}

func spanSeconds(span ptrace.Span) float64 {
	start, end := span.StartTimestamp(), span.EndTimestamp()
	if end <= start {
		return 0
	}
	return float64(end-start) / 1e9
}

// consumeServer counts a SERVER/CONSUMER span in its service's RED series and pairs it with its
// parent CLIENT/PRODUCER span, or leaves it waiting for it. Called under g.mu.
func (g *Generator) consumeServer(service string, span ptrace.Span, now int64, st *batchStats) {
	failed := span.Status().Code() == ptrace.StatusCodeError
	kind := "server"
	if span.Kind() == ptrace.SpanKindConsumer {
		kind = "consumer"
	}
	g.observe(g.services, &serviceGroup, seriesKey{service, span.Name(), kind}, spanSeconds(span), failed, st)

	parent := span.ParentSpanID()
	trace := span.TraceID()
	if parent.IsEmpty() || trace.IsEmpty() {
		return // an entry point: nothing to pair with
	}
	key := pendingKey{trace: trace, span: parent}
	if i, ok := g.pending.index[key]; ok {
		p := &g.pending.slots[i]
		if p.side == sideClient {
			g.observe(g.edges, &edgeGroup, seriesKey{p.service, service, metricstore.KindService}, p.duration, p.failed || failed, st)
			st.paired++
			g.pending.remove(i)
		}
		// Another child of a parent that already has one waiting (say, a second consumer of
		// one message): the first one pairs; this one only counts in its service's RED series.
		return
	}
	g.evictIfFull(now, st)
	p := g.pending.insert(key, now)
	p.side, p.service, p.failed = sideServer, service, failed
}

// consumeClient pairs a CLIENT/PRODUCER span with its SERVER/CONSUMER child, or leaves it
// waiting for it. Called under g.mu.
func (g *Generator) consumeClient(service string, span ptrace.Span, now int64, st *batchStats) {
	failed := span.Status().Code() == ptrace.StatusCodeError
	seconds := spanSeconds(span)
	trace, id := span.TraceID(), span.SpanID()
	if trace.IsEmpty() || id.IsEmpty() {
		// Cannot be paired: count it alone at once.
		a := scanCalleeAttrs(span.Attributes())
		callee, kind := g.resolveCallee(&a, now)
		g.observe(g.edges, &edgeGroup, seriesKey{service, callee, kind}, seconds, failed, st)
		return
	}
	key := pendingKey{trace: trace, span: id}
	if i, ok := g.pending.index[key]; ok {
		p := &g.pending.slots[i]
		if p.side == sideServer {
			g.observe(g.edges, &edgeGroup, seriesKey{service, p.service, metricstore.KindService}, seconds, failed || p.failed, st)
			st.paired++
			g.pending.remove(i)
		}
		// A client span with the ID of one already waiting is a duplicate delivery: ignored.
		return
	}
	g.evictIfFull(now, st)
	p := g.pending.insert(key, now)
	p.side, p.service, p.failed, p.duration = sideClient, service, failed, seconds
	p.callee = scanCalleeAttrs(span.Attributes())
}

// evictIfFull expires the oldest pending span early when MaxPending are held.
func (g *Generator) evictIfFull(now int64, st *batchStats) {
	for g.pending.len() >= g.cfg.MaxPending && g.pending.head >= 0 {
		if g.pending.slots[g.pending.head].side == sideClient {
			st.evictedClient++
		} else {
			st.evictedServer++
		}
		g.expireOne(g.pending.head, now, st)
	}
}

// expireLocked expires the pending spans that waited Wait or longer by now.
func (g *Generator) expireLocked(now int64, st *batchStats) {
	deadline := now - int64(g.cfg.Wait)
	for h := g.pending.head; h >= 0 && g.pending.slots[h].arrived <= deadline; h = g.pending.head {
		g.expireOne(h, now, st)
	}
}

// expireOne counts pending span i alone: a client span as an edge to the virtual node its
// attributes name, a server span only as expired (its RED series already counted it).
func (g *Generator) expireOne(i int32, now int64, st *batchStats) {
	p := &g.pending.slots[i]
	if p.side == sideClient {
		callee, kind := g.resolveCallee(&p.callee, now)
		g.observe(g.edges, &edgeGroup, seriesKey{p.service, callee, kind}, p.duration, p.failed, st)
		st.expiredClient++
	} else {
		st.expiredServer++
	}
	g.pending.remove(i)
}

// expire expires the spans that waited Wait or longer by now, and forgets services not seen
// for knownServiceTTL.
func (g *Generator) expire(now time.Time) {
	var st batchStats
	ns := now.UnixNano()
	g.mu.Lock()
	g.expireLocked(ns, &st)
	for s, seen := range g.known {
		if ns-seen > int64(knownServiceTTL) {
			delete(g.known, s)
		}
	}
	g.sizesLocked(&st)
	g.mu.Unlock()
	g.publish(&st)
}

// expireAll counts every pending span alone, as at shutdown.
func (g *Generator) expireAll() {
	var st batchStats
	now := g.now().UnixNano()
	g.mu.Lock()
	for g.pending.head >= 0 {
		g.expireOne(g.pending.head, now, &st)
	}
	g.sizesLocked(&st)
	g.mu.Unlock()
	g.publish(&st)
}

// Run expires pending spans and flushes every FlushInterval until ctx is done, then expires
// every pending span and flushes once more. Flush failures are logged and counted; Run returns
// nil.
func (g *Generator) Run(ctx context.Context) error {
	t := time.NewTicker(g.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Count what still waits, then write it: the last flush must include it.
			g.expireAll()
			if err := g.Flush(g.now()); err != nil {
				g.logger.Warn("final service graph flush failed", "err", err)
			}
			return nil
		case <-t.C:
			now := g.now()
			g.expire(now)
			if err := g.Flush(now); err != nil {
				g.logger.Warn("service graph flush failed", "err", err)
			}
		}
	}
}
