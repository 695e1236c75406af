// Package topology answers GET /api/v1/topology: the service graph of a time window, with the
// requests, errors, latency and health of every service and every call between them, computed
// from the span-derived RED series in the metrics store (internal/metricstore/names.go).
//
// # Counting
//
// Requests and errors must match what was sent exactly (the end-to-end check allows 1%), which
// PromQL's increase() does not give: it extrapolates to the window's edges and does not count
// the first sample of a series born inside the window. So the counts are read from the raw
// samples with a storage.Querier, one streaming pass per series, no samples held in memory:
// each series' increase over the window is the sum of its sample-to-sample differences from
// the last sample at or before start, a drop being a counter reset (the whole new value
// counts), and a series whose first sample is inside the window counting from 0 (see
// counterWindow). Histogram buckets are counted the same way, summed per le, and the p50/p99
// are PromQL's histogram_quantile interpolation over those exact bucket counts.
//
// The same pass measures each node's baseline over the Baseline before start, with a
// baseLookback before that for its base samples; a series silent for the whole baseline and
// then seen again inside the window is counted from 0, which the RED writer (which writes
// every series each interval) does not cause.
//
// # Health
//
// A node with no requests in the window is unknown. Otherwise it is failing if its error
// rate reaches FailingErrorRate, or reaches 5× its baseline error rate and 5% while the
// baseline had traffic; degraded if its error rate reaches DegradedErrorRate or its p99
// reaches LatencyFactor× its baseline p99 (the baseline having had traffic); else ok. Nodes
// that send no spans (database, cache, external, uninstrumented) are judged on their incoming
// edges taken together. A callee that is a known service (it had server series or made calls
// in the window or its baseline) but has no server traffic in the window while being called is
// failing: it is down.
package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/faultline/faultline/internal/httpparam"
	"github.com/faultline/faultline/internal/metricstore"
)

// Health of a node.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
	HealthFailing  = "failing"
	HealthUnknown  = "unknown"
)

const (
	// relativeErrorFactor and relativeErrorFloor make a node failing when its error rate is
	// this many times its baseline's and at least the floor.
	relativeErrorFactor = 5
	relativeErrorFloor  = 0.05

	// baseLookback is how far before the baseline window the base samples of its counters are
	// looked for; the RED writer writes every series far more often than this.
	baseLookback = 5 * time.Minute
)

// ErrNoQueryable is returned by New without a storage.Queryable.
var ErrNoQueryable = errors.New("topology: a queryable metrics store is required")

// Node is a service, or a callee that sends no spans of its own, in the window.
type Node struct {
	Service   string  `json:"service"`
	Kind      string  `json:"kind"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	Health    string  `json:"health"`

	// The baseline the health was judged against (not part of the HTTP answer; for RCA).
	BaselineRequests  int64   `json:"-"`
	BaselineErrorRate float64 `json:"-"`
	BaselineP99Ms     float64 `json:"-"`
	// Down is set for a known service that was called in the window but served nothing.
	Down bool `json:"-"`
}

// Edge is calls from caller to callee in the window.
type Edge struct {
	Caller    string  `json:"caller"`
	Callee    string  `json:"callee"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`

	// CalleeKind is the callee's node kind (not part of the HTTP answer: see the node).
	CalleeKind string `json:"-"`
}

// Topology is the service graph of one window: nodes sorted by name, edges by caller then
// callee. Both lists are empty, never nil.
type Topology struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// API computes topologies and serves them over HTTP.
type API struct {
	cfg    Config
	q      storage.Queryable
	logger *slog.Logger
	now    func() time.Time

	duration prometheus.Histogram
	failures *prometheus.CounterVec
}

// New builds the topology API. The PromQL engine is not used today: counts come from raw
// samples (see the package comment); it is taken so that callers wire the metrics store the
// same way as for the other query APIs. q is required.
func New(cfg Config, _ *promql.Engine, q storage.Queryable, logger *slog.Logger, reg prometheus.Registerer) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("topology config: %w", err)
	}
	if q == nil {
		return nil, ErrNoQueryable
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &API{
		cfg:    cfg,
		q:      q,
		logger: logger,
		now:    time.Now,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "faultline_topology_duration_seconds",
			Help:    "Time to compute a service topology from the RED series.",
			Buckets: prometheus.DefBuckets,
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_topology_requests_failed_total",
			Help: "Topology requests that failed, by reason (bad_request, storage).",
		}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{a.duration, a.failures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register topology metrics: %w", err)
			}
		}
	}
	return a, nil
}

// Register mounts GET /api/v1/topology on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("/api/v1/topology", a.serveTopology)
}

func (a *API) serveTopology(w http.ResponseWriter, r *http.Request) {
	if !httpparam.AllowGet(w, r) {
		return
	}
	start, end, err := ParseWindow(r.URL.Query(), a.now(), a.cfg.DefaultWindow)
	if err != nil {
		a.failures.WithLabelValues("bad_request").Inc()
		httpparam.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	topo, err := a.Topology(r.Context(), start, end)
	if err != nil {
		a.failures.WithLabelValues("storage").Inc()
		code := http.StatusInternalServerError
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			code = http.StatusServiceUnavailable
		}
		a.logger.Warn("topology failed", "start", start, "end", end, "err", err)
		httpparam.WriteError(w, code, err.Error())
		return
	}
	httpparam.WriteJSON(w, http.StatusOK, topo)
}

// aggregate is one node's or edge's numbers over the window and over its baseline.
type aggregate struct {
	cur, base red
	seen      bool   // a sample inside the window
	kind      string // edges: the callee kind of the series seen last inside the window
}

type edgeKey struct{ caller, callee string }

// graph is what one pass over the RED series gathers.
type graph struct {
	services map[string]*aggregate
	edges    map[edgeKey]*aggregate
	known    map[string]bool // services seen anywhere in the range read, server or caller
}

// seriesKind says which RED series a name is and where its numbers go.
type seriesKind struct {
	name        string
	edge        bool
	measure     int // measureRequests, measureErrors or measureBuckets
	description string
}

const (
	measureRequests = iota
	measureErrors
	measureBuckets
)

var redSeries = []seriesKind{
	{metricstore.ServiceRequests, false, measureRequests, "service requests"},
	{metricstore.ServiceErrors, false, measureErrors, "service errors"},
	{metricstore.ServiceDuration + "_bucket", false, measureBuckets, "service durations"},
	{metricstore.EdgeRequests, true, measureRequests, "edge requests"},
	{metricstore.EdgeErrors, true, measureErrors, "edge errors"},
	{metricstore.EdgeDuration + "_bucket", true, measureBuckets, "edge durations"},
}

// Topology computes the service graph of the window (start, end].
func (a *API) Topology(ctx context.Context, start, end time.Time) (Topology, error) {
	if !start.Before(end) {
		return Topology{}, badParam("start (%s) must be before end (%s)", start, end)
	}
	began := time.Now()
	defer func() { a.duration.Observe(time.Since(began).Seconds()) }()

	var (
		to         = end.UnixMilli()
		from       = start.UnixMilli()
		baseFrom   = start.Add(-a.cfg.Baseline).UnixMilli()
		mint       = start.Add(-a.cfg.Baseline - baseLookback).UnixMilli() // base samples of the baseline
		g          = graph{services: map[string]*aggregate{}, edges: map[edgeKey]*aggregate{}, known: map[string]bool{}}
		iter       chunkenc.Iterator
		querier    storage.Querier
		err        error
		seriesRead int
	)
	querier, err = a.q.Querier(mint, to)
	if err != nil {
		return Topology{}, fmt.Errorf("open querier: %w", err)
	}
	defer querier.Close()

	hints := &storage.SelectHints{Start: mint, End: to}
	for _, sk := range redSeries {
		set := querier.Select(ctx, false, hints, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, sk.name))
		for set.Next() {
			if seriesRead++; seriesRead%256 == 0 {
				if err := ctx.Err(); err != nil {
					return Topology{}, err
				}
			}
			s := set.At()
			lset := s.Labels()
			cur := counterWindow{from: from, to: to}
			base := counterWindow{from: baseFrom, to: from}
			anySample := false
			iter = s.Iterator(iter)
			for vt := iter.Next(); vt != chunkenc.ValNone; vt = iter.Next() {
				if vt != chunkenc.ValFloat {
					continue // native histograms: the RED writer writes classic ones
				}
				t, v := iter.At()
				if math.IsNaN(v) || value.IsStaleNaN(v) {
					continue
				}
				anySample = true
				// The querier returns [mint, to]: the window's base sample may be anywhere in the
				// baseline, the baseline's in the baseLookback before it.
				cur.add(t, v)
				base.add(t, v)
			}
			if err := iter.Err(); err != nil {
				return Topology{}, fmt.Errorf("read %s: %w", sk.description, err)
			}
			if !anySample {
				continue
			}
			g.add(sk, lset, &cur, &base)
		}
		if err := set.Err(); err != nil {
			return Topology{}, fmt.Errorf("select %s: %w", sk.description, err)
		}
	}
	return g.build(a.cfg), nil
}

// add files one series' window and baseline increases under its node or edge.
func (g *graph) add(sk seriesKind, lset labels.Labels, cur, base *counterWindow) {
	var agg *aggregate
	if sk.edge {
		k := edgeKey{caller: lset.Get(metricstore.LabelCaller), callee: lset.Get(metricstore.LabelCallee)}
		if k.caller == "" || k.callee == "" {
			return
		}
		g.known[k.caller] = true
		agg = g.edges[k]
		if agg == nil {
			agg = &aggregate{}
			g.edges[k] = agg
		}
		if kind := lset.Get(metricstore.LabelCalleeKind); kind != "" && (cur.seen || agg.kind == "") {
			agg.kind = kind
		}
	} else {
		svc := lset.Get(metricstore.LabelService)
		if svc == "" {
			return
		}
		g.known[svc] = true
		agg = g.services[svc]
		if agg == nil {
			agg = &aggregate{}
			g.services[svc] = agg
		}
	}
	agg.seen = agg.seen || cur.seen
	switch sk.measure {
	case measureRequests:
		agg.cur.requests += cur.inc
		agg.base.requests += base.inc
	case measureErrors:
		agg.cur.errors += cur.inc
		agg.base.errors += base.inc
	case measureBuckets:
		le, err := strconv.ParseFloat(lset.Get(labels.BucketLabel), 64)
		if err != nil {
			return // not a bucket: no le, or a malformed one
		}
		agg.cur.addBucket(le, cur.inc)
		agg.base.addBucket(le, base.inc)
	}
}

// build turns the gathered numbers into the topology: nodes for every service with server
// series in the window and every endpoint of an edge with requests in the window.
func (g *graph) build(cfg Config) Topology {
	topo := Topology{Nodes: []Node{}, Edges: []Edge{}}
	type virtual struct {
		kind      string
		cur, base red
	}
	virtuals := map[string]*virtual{}
	callers := map[string]bool{}

	for k, agg := range g.edges {
		if !agg.seen || agg.cur.requests <= 0 {
			continue
		}
		kind := agg.kind
		if kind == "" {
			kind = metricstore.KindUninstrumented
		}
		topo.Edges = append(topo.Edges, Edge{
			Caller:     k.caller,
			Callee:     k.callee,
			Requests:   count(agg.cur.requests),
			Errors:     count(agg.cur.errors),
			ErrorRate:  agg.cur.errorRate(),
			P50Ms:      agg.cur.quantileMs(0.5),
			P99Ms:      agg.cur.quantileMs(0.99),
			CalleeKind: kind,
		})
		callers[k.caller] = true
		v := virtuals[k.callee]
		if v == nil {
			v = &virtual{kind: kind}
			virtuals[k.callee] = v
		}
		v.cur.merge(&agg.cur)
		v.base.merge(&agg.base)
		// A callee seen as a service by any caller is a service; otherwise keep the first kind.
		if kind == metricstore.KindService {
			v.kind = kind
		}
	}
	slices.SortFunc(topo.Edges, func(a, b Edge) int {
		if c := strings.Compare(a.Caller, b.Caller); c != 0 {
			return c
		}
		return strings.Compare(a.Callee, b.Callee)
	})

	for svc, agg := range g.services {
		if !agg.seen {
			continue
		}
		if agg.cur.requests <= 0 {
			if v := virtuals[svc]; v != nil && v.cur.requests > 0 {
				continue // called but serving nothing: judged below as a callee
			}
		}
		topo.Nodes = append(topo.Nodes, makeNode(cfg, svc, metricstore.KindService, &agg.cur, &agg.base))
		delete(virtuals, svc)
		delete(callers, svc)
	}
	for name, v := range virtuals {
		n := makeNode(cfg, name, v.kind, &v.cur, &v.base)
		if g.known[name] && v.kind != metricstore.KindDatabase && v.kind != metricstore.KindCache && v.kind != metricstore.KindExternal {
			// A service that is called but serves nothing in the window is down.
			n.Health = HealthFailing
			n.Down = true
		}
		topo.Nodes = append(topo.Nodes, n)
		delete(callers, name)
	}
	for name := range callers {
		// A caller that sends no server spans (a load generator, a cron job): it is a
		// service, with no requests of its own to judge.
		topo.Nodes = append(topo.Nodes, Node{Service: name, Kind: metricstore.KindService, Health: HealthUnknown})
	}
	slices.SortFunc(topo.Nodes, func(a, b Node) int { return strings.Compare(a.Service, b.Service) })
	return topo
}

func makeNode(cfg Config, name, kind string, cur, base *red) Node {
	n := Node{
		Service:           name,
		Kind:              kind,
		Requests:          count(cur.requests),
		Errors:            count(cur.errors),
		ErrorRate:         cur.errorRate(),
		P50Ms:             cur.quantileMs(0.5),
		P99Ms:             cur.quantileMs(0.99),
		BaselineRequests:  count(base.requests),
		BaselineErrorRate: base.errorRate(),
		BaselineP99Ms:     base.quantileMs(0.99),
	}
	n.Health = cfg.health(n)
	return n
}

// health judges a node against the thresholds and its own baseline (see the package comment).
func (c Config) health(n Node) string {
	if n.Requests <= 0 {
		return HealthUnknown
	}
	hadBaseline := n.BaselineRequests > 0
	if n.ErrorRate >= c.FailingErrorRate ||
		(hadBaseline && n.ErrorRate >= relativeErrorFactor*n.BaselineErrorRate && n.ErrorRate >= relativeErrorFloor) {
		return HealthFailing
	}
	if n.ErrorRate >= c.DegradedErrorRate ||
		(hadBaseline && n.BaselineP99Ms > 0 && n.P99Ms >= c.LatencyFactor*n.BaselineP99Ms) {
		return HealthDegraded
	}
	return HealthOK
}

// count rounds a summed counter increase to a whole count (spans are counted in ones).
func count(v float64) int64 {
	if math.IsNaN(v) || v <= 0 {
		return 0
	}
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(math.Round(v))
}
