package rca

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/faultline/faultline/internal/httpparam"
	"github.com/faultline/faultline/internal/metricstore"
	"github.com/faultline/faultline/internal/spanstore"
)

// maxBuckets bounds the buckets of one analysis; longer windows get wider buckets.
const maxBuckets = 2000

// Shares of the trace evidence and of the metric graph rule in a node's score.
const (
	traceWeight  = 0.7
	metricWeight = 0.3
	// amplifiedShare is the part of the score of an amplifying caller's callees (and their
	// callees) moved to the caller.
	amplifiedShare = 0.6
	// minScore is the smallest score a root cause is listed with.
	minScore = 0.02
	// maxRootCauses, maxExemplars, maxPaths bound the answer.
	maxRootCauses = 10
	maxExemplars  = 5
	maxPaths      = 20
)

// Engine finds root causes from the RED series in the metrics store and the traces in the
// span store.
type Engine struct {
	cfg     Config
	metrics storage.Queryable
	spans   spanstore.Reader
	logs    LogSearcher // optional
	logger  *slog.Logger

	duration   prometheus.Histogram
	tracesRead prometheus.Counter
}

// New builds an engine. Both stores are required.
func New(cfg Config, metrics storage.Queryable, spans spanstore.Reader, logger *slog.Logger, reg prometheus.Registerer) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rca config: %w", err)
	}
	if metrics == nil || spans == nil {
		return nil, errors.New("rca: a metrics store and a span store are required")
	}
	e := &Engine{
		cfg: cfg, metrics: metrics, spans: spans, logger: logger,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "faultline_rca_analysis_duration_seconds",
			Help:    "Time to analyse one window for root causes.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		tracesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_rca_traces_read_total",
			Help: "Traces read from the span store by root-cause analyses.",
		}),
	}
	if reg != nil {
		reg.MustRegister(e.duration, e.tracesRead)
	}
	return e, nil
}

// Config returns the engine's settings.
func (e *Engine) Config() Config { return e.cfg }

// SetLogs adds the log store: root causes then carry their error logs as evidence.
func (e *Engine) SetLogs(logs LogSearcher) { e.logs = logs }

// Analyze finds what went wrong in [start, end], where it started and how far it spread.
func (e *Engine) Analyze(ctx context.Context, start, end time.Time) (Result, error) {
	if !start.Before(end) {
		return Result{}, httpparam.BadParam("start (%s) must be before end (%s)", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	began := time.Now()
	defer func() { e.duration.Observe(time.Since(began).Seconds()) }()

	step := e.cfg.Step
	if total := end.Sub(start) + e.cfg.Baseline; total/step > maxBuckets {
		step = (total/maxBuckets + time.Second - 1).Truncate(time.Second)
	}
	g, err := readGrid(ctx, e.metrics, start, end, e.cfg.Baseline, step)
	if err != nil {
		return Result{}, fmt.Errorf("read RED series: %w", err)
	}
	det := &detector{cfg: e.cfg, g: g}
	anoms := det.detect()
	res := emptyResult(start, end)
	if len(anoms) == 0 {
		return res, nil
	}
	a := &analysis{cfg: e.cfg, g: g, anoms: anoms, nodes: map[string]*nodeEvidence{}}
	if err := a.readTraces(ctx, e.spans, end); err != nil {
		return Result{}, err
	}
	e.tracesRead.Add(float64(a.tracesRead))
	a.score()
	a.fill(&res)
	for i := range res.RootCauses {
		r := &res.RootCauses[i]
		if r.NodeKind == metricstore.KindService {
			r.Evidence = append(r.Evidence, e.logEvidence(ctx, r.Service, r.Since, end)...)
		}
	}
	return res, nil
}

// message is an error message seen at an origin.
type message struct {
	text  string
	count int
	first time.Time
}

// nodeEvidence is what the traces say about one node.
type nodeEvidence struct {
	errWeight     float64 // failures starting here, each failed trace sharing 1 among its origins
	timeoutWeight float64 // the part of errWeight from callers that gave up waiting
	noAnswer      float64 // the part of errWeight from calls the node never answered
	origins       int
	errTraces     []string
	slowTraces    []string
	msgs          []*message
	first         time.Time // earliest origin span
	latency       time.Duration
}

func (n *nodeEvidence) addMessage(text string, at time.Time) {
	if text == "" {
		return
	}
	for _, m := range n.msgs {
		if m.text == text {
			m.count++
			if at.Before(m.first) {
				m.first = at
			}
			return
		}
	}
	if len(n.msgs) < 20 {
		n.msgs = append(n.msgs, &message{text: text, count: 1, first: at})
	}
}

// analysis is one Analyze's working state.
type analysis struct {
	cfg   Config
	g     *grid
	anoms []anomaly

	nodes      map[string]*nodeEvidence
	tracesRead int

	// commonSlowdown is the factor by which most operations slowed together (1: none).
	commonSlowdown float64

	scores     map[string]float64
	latShare   map[string]float64
	errShare   map[string]float64
	amplifiers map[string][]anomaly // caller -> its amplified calls
}

func (a *analysis) node(n string) *nodeEvidence {
	e := a.nodes[n]
	if e == nil {
		e = &nodeEvidence{}
		a.nodes[n] = e
	}
	return e
}

// firstOnset is the earliest deviating bucket.
func (a *analysis) firstOnset() int {
	on := a.g.n
	for _, x := range a.anoms {
		on = min(on, x.onset)
	}
	return on
}

// onsetTime is the earliest time the events of bucket i can have happened: a sample at the
// end of a bucket counts the flush interval before it.
func (a *analysis) onsetTime(i int) time.Time { return a.g.bucketTime(max(i-1, 0)) }

// readTraces reads a sample of the window's failed traces, of its slow traces and of normal
// traces from before the trouble, and charges failures and extra time to nodes.
func (a *analysis) readTraces(ctx context.Context, spans spanstore.Reader, end time.Time) error {
	from := a.onsetTime(a.firstOnset())
	var hasErrors bool
	var slowAnoms []anomaly
	for _, x := range a.anoms {
		switch x.signal {
		case signalErrors, signalDown:
			hasErrors = true
		case signalLatency:
			slowAnoms = append(slowAnoms, x)
		}
	}
	budget := a.cfg.MaxTraces
	if hasErrors && len(slowAnoms) > 0 {
		budget /= 2
	}
	// Each trace is read once; a trace both failed and slow serves both samples.
	read := map[pcommon.TraceID]*tree{}
	load := func(q spanstore.Query, parts int) ([]*tree, error) {
		var out []*tree
		taken := map[pcommon.TraceID]bool{}
		for _, w := range split(q.Start, q.End, parts) {
			q := q
			q.Start, q.End, q.Limit = w[0], w[1], max(1, q.Limit/parts)
			found, err := spans.FindTraces(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("find traces: %w", err)
			}
			for _, s := range found {
				if taken[s.TraceID] {
					continue
				}
				taken[s.TraceID] = true
				t, ok := read[s.TraceID]
				if !ok {
					td, err := spans.Trace(ctx, s.TraceID)
					switch {
					case errors.Is(err, spanstore.ErrNotFound): // expired since
					case err != nil:
						return nil, fmt.Errorf("read trace: %w", err)
					default:
						a.tracesRead++
						t = buildTree(hex.EncodeToString(s.TraceID[:]), td)
						a.rename(t)
					}
					read[s.TraceID] = t
				}
				if t != nil {
					out = append(out, t)
				}
			}
		}
		return out, nil
	}
	if hasErrors {
		failed, err := load(spanstore.Query{Status: "error", Start: from, End: end, Limit: budget}, 4)
		if err != nil {
			return err
		}
		for _, t := range failed {
			a.chargeErrors(t)
		}
	}
	if len(slowAnoms) == 0 {
		return nil
	}
	// Traces through the deviating nodes with the most extra time, against traces of the same
	// nodes from before the trouble.
	slices.SortFunc(slowAnoms, func(x, y anomaly) int { return -cmp.Compare(x.excess, y.excess) })
	slowAnoms = slowAnoms[:min(len(slowAnoms), 4)]
	per := max(4, budget/len(slowAnoms)/2)
	slow, base := opTime{}, opTime{}
	counted := map[string]bool{} // a trace through two deviating nodes counts once
	for _, x := range slowAnoms {
		svc := x.node
		if x.isEdge() {
			svc = x.edge.caller
		}
		// No duration filter: the slowest traces are slow everywhere, and comparing them with
		// ordinary ones would charge every node a little.
		ts, err := load(spanstore.Query{Service: svc, Start: from, End: end, Limit: per}, 2)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if counted[t.id] {
				continue
			}
			counted[t.id] = true
			slow.add(t)
			for n := range t.targets() {
				a.node(n).slowTraces = appendExemplar(a.node(n).slowTraces, t.id)
			}
		}
		bs, err := load(spanstore.Query{Service: svc, Start: from.Add(-10 * a.cfg.Step), End: from, Limit: per}, 2)
		if err != nil {
			return err
		}
		for _, t := range bs {
			if !counted[t.id] {
				counted[t.id] = true
				base.add(t)
			}
		}
	}
	excess, common := latencyExcess(slow, base)
	for n, d := range excess {
		a.node(n).latency += d
	}
	a.commonSlowdown = common
	return nil
}

// rename names the callees of unanswered calls as the service graph does: a callee named
// host:port whose host is a service known in the window is that service (a service that went
// down is called by address).
func (a *analysis) rename(t *tree) {
	for _, s := range t.spans {
		if !s.isCall() || a.g.known[s.callee] {
			continue
		}
		if i := strings.LastIndexByte(s.callee, ':'); i > 0 && a.g.known[s.callee[:i]] {
			s.callee = s.callee[:i]
		}
	}
}

// targets are the nodes a trace's spans are charged to.
func (t *tree) targets() map[string]bool {
	out := map[string]bool{}
	for _, s := range t.spans {
		out[s.target()] = true
	}
	return out
}

// chargeErrors shares one failed trace among the nodes where its errors start; a trace whose
// outcome was fine (the error was caught or retried) counts half.
func (a *analysis) chargeErrors(t *tree) {
	origins := t.errorOrigins()
	if len(origins) == 0 {
		return
	}
	w := 1.0
	if !t.failed() {
		w = 0.5
	}
	w /= float64(len(origins))
	for _, o := range origins {
		n := a.node(o.node)
		n.errWeight += w
		n.origins++
		if o.timeout {
			n.timeoutWeight += w
		}
		if o.noAnswer {
			n.noAnswer += w
		}
		at := time.Unix(0, o.span.start)
		if n.first.IsZero() || at.Before(n.first) {
			n.first = at
		}
		n.addMessage(o.span.msg, at)
		n.errTraces = appendExemplar(n.errTraces, t.id)
	}
}

func appendExemplar(ids []string, id string) []string {
	if len(ids) >= maxExemplars || slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// split cuts [from, to] into n windows of equal length.
func split(from, to time.Time, n int) [][2]time.Time {
	d := to.Sub(from) / time.Duration(n)
	if d <= 0 {
		return [][2]time.Time{{from, to}}
	}
	out := make([][2]time.Time, n)
	for i := range n {
		out[i] = [2]time.Time{from.Add(time.Duration(i) * d), from.Add(time.Duration(i+1) * d)}
	}
	out[n-1][1] = to
	return out
}

// metricCandidates applies the graph rule to the anomalies of one family: a deviating node
// none of whose calls deviate the same way is where that trouble starts; a deviating call to
// a callee that does not deviate itself (it sends no spans, is down, or answered in time while
// the caller gave up or lost the connection) starts at the callee.
func (a *analysis) metricCandidates(errorsFamily bool) map[string]float64 {
	inFamily := func(x anomaly) bool {
		if errorsFamily {
			return x.signal == signalErrors || x.signal == signalDown
		}
		return x.signal == signalLatency
	}
	nodeDeviates := map[string]bool{}
	callDeviates := map[string]bool{} // callers with a deviating outgoing call
	for _, x := range a.anoms {
		if !inFamily(x) {
			continue
		}
		if x.isEdge() {
			callDeviates[x.edge.caller] = true
		} else {
			nodeDeviates[x.node] = true
		}
	}
	out := map[string]float64{}
	for _, x := range a.anoms {
		if !inFamily(x) {
			continue
		}
		switch {
		case x.signal == signalDown:
			out[x.node] += x.excess
		case x.isEdge() && !nodeDeviates[x.edge.callee]:
			out[x.edge.callee] += x.excess
		case !x.isEdge() && !callDeviates[x.node]:
			out[x.node] += x.excess
		}
	}
	return out
}

// shares normalises weights to sum to 1.
func shares[K comparable](m map[K]float64) map[K]float64 {
	var total float64
	for _, v := range m {
		total += math.Max(v, 0)
	}
	out := make(map[K]float64, len(m))
	if total <= 0 {
		return out
	}
	for k, v := range m {
		if v > 0 {
			out[k] = v / total
		}
	}
	return out
}

// score combines, per family of signal (errors, latency), the trace evidence and the metric
// graph rule into each node's share of the trouble, then moves most of the score of callees
// flooded by an amplifying caller to that caller.
func (a *analysis) score() {
	// Each family weighs as much as its worst-hit node or call, in requests: a cascade of
	// failures outweighs a few slower calls, and the other way round.
	var errHurt, latHurt float64
	a.amplifiers = map[string][]anomaly{}
	for _, x := range a.anoms {
		switch x.signal {
		case signalErrors, signalDown:
			errHurt = math.Max(errHurt, math.Max(x.hurt, 1))
		case signalLatency:
			latHurt = math.Max(latHurt, math.Max(x.hurt, 1))
		case signalTraffic:
			a.amplifiers[x.edge.caller] = append(a.amplifiers[x.edge.caller], x)
		}
	}
	family := func(errorsFamily bool) map[string]float64 {
		m := shares(a.metricCandidates(errorsFamily))
		t := map[string]float64{}
		for n, ev := range a.nodes {
			if errorsFamily {
				t[n] = ev.errWeight
			} else {
				t[n] = ev.latency.Seconds()
			}
		}
		t = shares(t)
		if len(t) == 0 {
			return m
		}
		if len(m) == 0 {
			return t
		}
		out := map[string]float64{}
		for n, v := range t {
			out[n] += traceWeight * v
		}
		for n, v := range m {
			out[n] += metricWeight * v
		}
		return out
	}
	a.scores = map[string]float64{}
	a.errShare, a.latShare = map[string]float64{}, map[string]float64{}
	if errHurt > 0 {
		a.errShare = family(true)
	}
	if latHurt > 0 {
		a.latShare = family(false)
	}
	if errHurt+latHurt == 0 { // only traffic anomalies: the amplifiers alone
		for c, xs := range a.amplifiers {
			for _, x := range xs {
				a.scores[c] += x.excess
			}
		}
		a.scores = shares(a.scores)
		return
	}
	for n, v := range a.errShare {
		a.scores[n] += v * errHurt / (errHurt + latHurt)
	}
	for n, v := range a.latShare {
		a.scores[n] += v * latHurt / (errHurt + latHurt)
	}
	// Everything below the flooded callees, taken once even when several are flooded.
	for c, xs := range a.amplifiers {
		below := map[string]bool{}
		for _, x := range xs {
			maps.Copy(below, a.downstream(x.edge.callee))
		}
		moved := 0.0
		for n := range below {
			if n == c {
				continue
			}
			m := a.scores[n] * amplifiedShare
			a.scores[n] -= m
			moved += m
		}
		a.scores[c] += moved
	}
}

// downstream is a node and every node it calls, directly or not, in the window.
func (a *analysis) downstream(n string) map[string]bool {
	out := map[string]bool{n: true}
	queue := []string{n}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for k, cells := range a.g.edges {
			if k.caller != cur || out[k.callee] || !a.calledInWindow(cells) {
				continue
			}
			out[k.callee] = true
			queue = append(queue, k.callee)
		}
	}
	return out
}

func (a *analysis) calledInWindow(cells []cell) bool {
	for _, c := range cells[a.g.windowFrom:] {
		if c.req > 0 {
			return true
		}
	}
	return false
}

// nodeKind is a node's kind for the answer.
func (a *analysis) nodeKind(n string) string {
	if a.g.known[n] {
		return metricstore.KindService
	}
	if k := a.g.calleeKind[n]; k != "" {
		return k
	}
	return metricstore.KindUninstrumented
}

// kind says how a root cause failed.
func (a *analysis) kind(n string) string {
	if _, ok := a.amplifiers[n]; ok {
		return KindSaturation
	}
	for _, x := range a.anoms {
		if x.signal == signalDown && x.node == n {
			return KindDown
		}
	}
	ev := a.nodes[n]
	if ev != nil && a.g.known[n] && ev.errWeight > 0 && ev.noAnswer >= 0.8*ev.errWeight {
		return KindDown
	}
	errPart := a.errShare[n]
	latPart := a.latShare[n]
	if ev != nil && ev.errWeight > 0 {
		// Failures of callers that gave up waiting are the node's slowness.
		t := ev.timeoutWeight / ev.errWeight
		latPart += errPart * t
		errPart *= 1 - t
	}
	if latPart > errPart {
		if a.commonSlowdown > 1 {
			return KindSaturation // everything slowed, this the most: a shared resource ran out
		}
		return KindLatency
	}
	return KindError
}
