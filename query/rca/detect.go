package rca

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Signal kinds of an anomaly.
const (
	signalErrors  = "errors"  // error rate above the baseline
	signalLatency = "latency" // mean duration above the baseline
	signalDown    = "down"    // a known service served nothing while its callers called it
	signalTraffic = "traffic" // calls per caller request multiplied (edges only)
)

// anomaly is one signal of one node or edge that deviates from its own baseline inside the
// window.
type anomaly struct {
	node   string  // the service or virtual node; for an edge, the callee
	edge   edgeKey // zero for a node
	signal string
	onset  int     // first deviating bucket
	last   int     // last deviating bucket
	base   float64 // the baseline figure: error rate, mean ms, calls per request
	cur    float64 // the figure over the deviating buckets
	// excess is the size of the deviation in the signal's own units: extra errors, extra
	// seconds spent, extra calls, requests not served.
	excess float64
	// hurt is the size in requests, comparable across signals: requests that failed beyond
	// the normal, went unserved, or were slowed (weighted by the share of their duration
	// that is new).
	hurt float64
}

func (a anomaly) isEdge() bool { return a.edge.caller != "" }

// detector judges every node and edge of a grid against its own baseline.
type detector struct {
	cfg Config
	g   *grid
}

// baseline is a series' normal: a low quantile of its history, robust to a fault that fills
// up to about two thirds of the buckets (the analysed window included, so that a service
// first seen in the window still has a normal when the fault started late in it).
type baseline struct {
	errRate  float64
	meanMs   float64 // NaN when unknown
	req      float64 // requests per bucket (median)
	hadCalls bool    // some bucket had enough traffic to judge
}

const baselineQuantile = 0.3

// minTrafficHistory is the fewest judged buckets a caller's calls per request need before
// amplification is judged; amplification must also last two buckets, since a caller's calls
// and its requests are counted at slightly different moments.
const minTrafficHistory = 3

func (d *detector) baselineOf(cells []cell, skip func(i int) bool) baseline {
	var rates, means, reqs []float64
	for i := birth(cells) + 1; i < len(cells); i++ {
		c := cells[i]
		if skip != nil && skip(i) {
			continue
		}
		if c.req >= float64(d.cfg.MinRequests) {
			rates = append(rates, c.errRate())
			reqs = append(reqs, c.req)
		}
		if c.durCnt >= float64(d.cfg.MinRequests) {
			means = append(means, c.meanMs())
		}
	}
	b := baseline{meanMs: math.NaN(), hadCalls: len(rates) > 0}
	if len(rates) > 0 {
		b.errRate = quantile(rates, baselineQuantile)
		b.req = quantile(reqs, 0.5)
	}
	if len(means) > 0 {
		b.meanMs = quantile(means, baselineQuantile)
	}
	return b
}

// birth is the first bucket with traffic of a node or an edge, -1 if none. It is left out of
// every judgement: it holds whatever happened since the series began, and the calls of a new
// service are only paired with their callees a little later, so its figures are partial.
func birth(cells []cell) int {
	for i, c := range cells {
		if c.req > 0 || c.durCnt > 0 {
			return i
		}
	}
	return len(cells) - 1
}

// quantile sorts xs in place and returns its q-quantile (nearest rank).
func quantile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}

// errorBucket says whether a bucket's error rate deviates from the baseline.
func (d *detector) errorBucket(c cell, b baseline) bool {
	if c.req < float64(d.cfg.MinRequests) || c.err < float64(d.cfg.MinErrors) {
		return false
	}
	r := c.errRate()
	return r >= b.errRate+d.cfg.ErrorRateDelta && r >= 2*b.errRate
}

// latencyBucket says whether a bucket's mean duration deviates from the baseline.
func (d *detector) latencyBucket(c cell, b baseline) bool {
	if c.durCnt < float64(d.cfg.MinRequests) || math.IsNaN(b.meanMs) {
		return false
	}
	m := c.meanMs()
	return m >= b.meanMs*d.cfg.LatencyFactor && m-b.meanMs >= float64(d.cfg.LatencyMinDelta)/float64(time.Millisecond)
}

// scan finds the deviating buckets of the window for one judgement and sums them.
func (d *detector) scan(cells []cell, deviates func(cell) bool) (onset, last int, sum cell, ok bool) {
	onset = -1
	for i := max(d.g.windowFrom, birth(cells)+1); i < d.g.n; i++ {
		if !deviates(cells[i]) {
			continue
		}
		if onset < 0 {
			onset = i
		}
		last = i
		sum.add(cells[i])
	}
	return onset, last, sum, onset >= 0
}

// detect returns every anomaly of the window.
func (d *detector) detect() []anomaly {
	var out []anomaly
	judge := func(node string, edge edgeKey, cells []cell) baseline {
		b := d.baselineOf(cells, nil)
		failing := func(i int) bool { return d.errorBucket(cells[i], b) }
		if on, last, s, ok := d.scan(cells, func(c cell) bool { return d.errorBucket(c, b) }); ok {
			out = append(out, anomaly{
				node: node, edge: edge, signal: signalErrors, onset: on, last: last,
				base: b.errRate, cur: s.errRate(), excess: s.err - b.errRate*s.req, hurt: s.err - b.errRate*s.req,
			})
		}
		// Failing fast is not being fast: the normal duration leaves out the failing buckets.
		if lb := d.baselineOf(cells, failing); !math.IsNaN(lb.meanMs) {
			b.meanMs = lb.meanMs
		}
		if on, last, s, ok := d.scan(cells, func(c cell) bool { return d.latencyBucket(c, b) }); ok {
			out = append(out, anomaly{
				node: node, edge: edge, signal: signalLatency, onset: on, last: last,
				base: b.meanMs, cur: s.meanMs(), excess: (s.meanMs() - b.meanMs) / 1000 * s.durCnt,
				hurt: s.durCnt * (1 - b.meanMs/s.meanMs()),
			})
		}
		return b
	}
	for _, svc := range sortedKeys(d.g.services) {
		cells := d.g.services[svc]
		b := judge(svc, edgeKey{}, cells)
		if a, ok := d.down(svc, cells, b); ok {
			out = append(out, a)
		}
	}
	for _, k := range sortedEdges(d.g.edges) {
		cells := d.g.edges[k]
		judge(k.callee, k, cells)
		if a, ok := d.amplified(k, cells); ok {
			out = append(out, a)
		}
	}
	return out
}

// down finds the buckets in which a service that normally serves traffic served none while
// its callers kept calling it (their calls failing or unanswered).
func (d *detector) down(svc string, cells []cell, b baseline) (anomaly, bool) {
	if !b.hadCalls {
		return anomaly{}, false
	}
	incoming := d.incoming(svc)
	on, last, silent := -1, 0, 0
	var missed float64
	for i := d.g.windowFrom; i < d.g.n; i++ {
		if incoming[i].req >= float64(d.cfg.MinRequests) && cells[i].req == 0 {
			if on < 0 {
				on = i
			}
			last = i
			silent++
			missed += incoming[i].req
		}
	}
	// Two buckets: a service that just stopped with calls to it still being paired (the
	// service graph waits for late spans) looks down for one.
	if silent < 2 {
		return anomaly{}, false
	}
	return anomaly{node: svc, signal: signalDown, onset: on, last: last, base: b.req, excess: missed, hurt: missed}, true
}

// incoming sums the calls made to a node per bucket.
func (d *detector) incoming(node string) []cell {
	sum := make([]cell, d.g.n)
	for k, cells := range d.g.edges {
		if k.callee != node {
			continue
		}
		for i := range cells {
			sum[i].add(cells[i])
		}
	}
	return sum
}

// amplified finds the buckets in which a caller sent many more calls per request it served
// than it normally does: a retry storm, a loop, a fan-out gone wrong.
func (d *detector) amplified(k edgeKey, edge []cell) (anomaly, bool) {
	own, ok := d.g.services[k.caller]
	if !ok {
		return anomaly{}, false
	}
	var ratios []float64
	ratio := func(i int) float64 { return edge[i].req / own[i].req }
	first := max(birth(own), birth(edge)) + 1
	judged := func(i int) bool {
		return i >= first && own[i].req >= float64(d.cfg.MinRequests) && edge[i].req >= float64(d.cfg.MinRequests)
	}
	for i := range d.g.n {
		if judged(i) {
			ratios = append(ratios, ratio(i))
		}
	}
	if len(ratios) < minTrafficHistory {
		return anomaly{}, false
	}
	base := quantile(ratios, baselineQuantile)
	usual := d.baselineOf(edge, nil).req
	on, last, deviating := -1, 0, 0
	var extra, calls, served float64
	for i := d.g.windowFrom; i < d.g.n; i++ {
		// The calls themselves must multiply too: a caller whose requests fall while calls
		// it made earlier are still being paired (the end of a run) is not amplifying.
		if !judged(i) || ratio(i) < base*d.cfg.TrafficFactor || edge[i].req < usual*d.cfg.TrafficFactor {
			continue
		}
		if on < 0 {
			on = i
		}
		last = i
		deviating++
		extra += edge[i].req - base*own[i].req
		calls += edge[i].req
		served += own[i].req
	}
	if deviating < 2 {
		return anomaly{}, false
	}
	return anomaly{
		node: k.callee, edge: k, signal: signalTraffic, onset: on, last: last,
		base: base, cur: calls / served, excess: extra,
	}, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedEdges(m map[edgeKey][]cell) []edgeKey {
	keys := make([]edgeKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b edgeKey) int {
		return cmp.Or(cmp.Compare(a.caller, b.caller), cmp.Compare(a.callee, b.callee))
	})
	return keys
}
