package rca

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// fill writes the ranked root causes, the victims, the propagation paths, the exemplar
// traces and the anomalies into res.
func (a *analysis) fill(res *Result) {
	type ranked struct {
		node  string
		score float64
	}
	var rs []ranked
	for n, s := range a.scores {
		if s >= minScore {
			rs = append(rs, ranked{n, s})
		}
	}
	slices.SortFunc(rs, func(x, y ranked) int {
		if c := -cmp.Compare(x.score, y.score); c != 0 {
			return c
		}
		return strings.Compare(x.node, y.node)
	})
	rs = rs[:min(len(rs), maxRootCauses)]
	roots := map[string]bool{}
	for _, r := range rs {
		roots[r.node] = true
		res.RootCauses = append(res.RootCauses, RootCause{
			Service: r.node, Score: round3(r.score), Kind: a.kind(r.node), NodeKind: a.nodeKind(r.node),
			Since: a.since(r.node), Evidence: a.evidence(r.node),
		})
	}
	for _, x := range a.anoms {
		res.Anomalies = append(res.Anomalies, a.publicAnomaly(x))
	}
	if len(res.RootCauses) == 0 {
		res.Summary = "Services deviate from their baselines, but no root cause stands out."
		return
	}
	res.Affected = a.affected(roots)
	res.Paths = a.paths(res.RootCauses, res.Affected)
	for _, r := range res.RootCauses {
		if ev := a.nodes[r.Service]; ev != nil {
			for _, id := range append(slices.Clone(ev.errTraces), ev.slowTraces...) {
				res.ExemplarTraces = appendExemplar(res.ExemplarTraces, id)
			}
		}
	}
	res.Summary = summary(res.RootCauses, res.Affected)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// since is when a root cause's trouble started: its first failing trace, else the onset of
// its first anomaly.
func (a *analysis) since(n string) time.Time {
	var t time.Time
	for _, x := range a.anoms {
		if x.node == n || x.edge.caller == n && x.signal == signalTraffic {
			if at := a.onsetTime(x.onset); t.IsZero() || at.Before(t) {
				t = at
			}
		}
	}
	if ev := a.nodes[n]; ev != nil && !ev.first.IsZero() && (t.IsZero() || ev.first.Before(t)) {
		t = ev.first
	}
	if t.IsZero() { // only the traces point at it, and not through a failure: the trouble's start
		t = a.onsetTime(a.firstOnset())
	}
	return t.UTC()
}

func (a *analysis) publicAnomaly(x anomaly) Anomaly {
	p := Anomaly{
		Entity: x.node, Signal: x.signal, Baseline: round3(x.base), Current: round3(x.cur),
		Since: a.onsetTime(x.onset).UTC(), Until: a.g.bucketTime(x.last + 1).UTC(),
	}
	if x.isEdge() {
		p.Entity = x.edge.String()
	}
	switch x.signal {
	case signalErrors:
		p.Unit = "ratio"
	case signalLatency:
		p.Unit = "ms"
	case signalDown:
		p.Unit = "requests_per_bucket"
	case signalTraffic:
		p.Unit = "calls_per_request"
	}
	return p
}

func ptr(x float64) *float64 { x = round3(x); return &x }

// evidence lists the facts behind a root cause: its anomalies and those of the calls into
// it, the traces whose trouble starts there, and its first error messages.
func (a *analysis) evidence(n string) []Evidence {
	var out []Evidence
	for _, x := range a.anoms {
		amplifier := x.signal == signalTraffic && x.edge.caller == n
		if x.node != n && !amplifier {
			continue
		}
		p := a.publicAnomaly(x)
		e := Evidence{Type: "anomaly", Entity: p.Entity, Signal: x.signal, Baseline: ptr(x.base), Current: ptr(x.cur), Unit: p.Unit, Since: p.Since}
		switch x.signal {
		case signalErrors:
			e.Text = fmt.Sprintf("%s: error rate %.1f%% (baseline %.1f%%)", p.Entity, 100*x.cur, 100*x.base)
		case signalLatency:
			e.Text = fmt.Sprintf("%s: mean duration %.0f ms (baseline %.0f ms)", p.Entity, x.cur, x.base)
		case signalDown:
			e.Text = fmt.Sprintf("%s served no request while its callers made %.0f calls to it", n, x.excess)
			e.Current = ptr(0)
		case signalTraffic:
			e.Type = "amplification"
			e.Text = fmt.Sprintf("%s: %.1f calls per request (baseline %.1f)", p.Entity, x.cur, x.base)
		}
		out = append(out, e)
	}
	ev := a.nodes[n]
	if ev == nil {
		return out
	}
	if ev.origins > 0 {
		text := fmt.Sprintf("failures start at %s in %d sampled spans", n, ev.origins)
		switch {
		case ev.noAnswer >= 0.8*ev.errWeight:
			text += ", its callers getting no answer"
		case ev.timeoutWeight >= 0.5*ev.errWeight:
			text += ", its callers timing out while it was still working"
		}
		out = append(out, Evidence{Type: "error_origin", Text: text, Count: ev.origins, Since: ev.first.UTC(), TraceIDs: ev.errTraces})
	}
	if ev.latency > 0 {
		out = append(out, Evidence{
			Type: "latency_origin", Entity: n,
			Text:     fmt.Sprintf("%s spent %s more of its own time than usual across the sampled slow traces", n, ev.latency.Round(time.Millisecond)),
			TraceIDs: ev.slowTraces,
		})
	}
	msgs := slices.Clone(ev.msgs)
	slices.SortStableFunc(msgs, func(x, y *message) int { return x.first.Compare(y.first) })
	for _, m := range msgs[:min(3, len(msgs))] {
		out = append(out, Evidence{Type: "error_message", Text: fmt.Sprintf("%dx %q", m.count, m.text), Message: m.text, Count: m.count, Since: m.first.UTC()})
	}
	return out
}

// affected lists the nodes that deviate because of the root causes: those that call a root
// cause, directly or through other deviating nodes, with their impact, most hit first.
func (a *analysis) affected(roots map[string]bool) []Affected {
	type hit struct {
		impact  float64
		signals []string
		since   time.Time
	}
	hits := map[string]*hit{}
	for _, x := range a.anoms {
		if x.isEdge() || roots[x.node] {
			continue
		}
		h := hits[x.node]
		if h == nil {
			h = &hit{}
			hits[x.node] = h
		}
		impact := 1.0
		switch x.signal {
		case signalErrors:
			impact = x.cur - x.base
		case signalLatency:
			impact = 1 - x.base/x.cur
		}
		h.impact = math.Max(h.impact, math.Min(1, math.Max(0, impact)))
		if !slices.Contains(h.signals, x.signal) {
			h.signals = append(h.signals, x.signal)
		}
		if at := a.onsetTime(x.onset); h.since.IsZero() || at.Before(h.since) {
			h.since = at
		}
	}
	// Only callers of the root causes, up the graph through deviating nodes, are victims.
	reach := map[string]bool{}
	queue := make([]string, 0, len(roots))
	for r := range roots {
		queue = append(queue, r)
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for k, cells := range a.g.edges {
			if k.callee != cur || reach[k.caller] || roots[k.caller] || hits[k.caller] == nil || !a.calledInWindow(cells) {
				continue
			}
			reach[k.caller] = true
			queue = append(queue, k.caller)
		}
	}
	out := []Affected{}
	for n := range reach {
		h := hits[n]
		slices.Sort(h.signals)
		out = append(out, Affected{Service: n, Impact: round3(h.impact), Signals: h.signals, Since: h.since.UTC()})
	}
	slices.SortFunc(out, func(x, y Affected) int {
		if c := -cmp.Compare(x.Impact, y.Impact); c != 0 {
			return c
		}
		return strings.Compare(x.Service, y.Service)
	})
	return out
}

// paths are the ways trouble travelled: from each topmost victim (an entry point, or a node
// whose callers did not suffer) down through victims to a root cause.
func (a *analysis) paths(roots []RootCause, affected []Affected) [][]string {
	victim := map[string]bool{}
	for _, v := range affected {
		victim[v.Service] = true
	}
	callers := map[string][]string{}
	for k, cells := range a.g.edges {
		if victim[k.caller] && a.calledInWindow(cells) {
			callers[k.callee] = append(callers[k.callee], k.caller)
		}
	}
	for _, c := range callers {
		slices.Sort(c)
	}
	out := [][]string{}
	var walk func(path []string)
	walk = func(path []string) { // path runs from the root cause up
		if len(out) >= maxPaths {
			return
		}
		next := 0
		for _, c := range callers[path[len(path)-1]] {
			if slices.Contains(path, c) || len(path) >= 16 {
				continue
			}
			next++
			walk(append(slices.Clone(path), c))
		}
		if next == 0 && len(path) > 1 {
			p := slices.Clone(path)
			slices.Reverse(p)
			out = append(out, p)
		}
	}
	for _, r := range roots[:min(3, len(roots))] {
		walk([]string{r.Service})
	}
	return out
}

// summary says in one sentence what failed, since when and how far it spread.
func summary(roots []RootCause, affected []Affected) string {
	r := roots[0]
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s since %s", r.Service, kindPhrase(r.Kind), r.Since.Format("15:04:05 UTC"))
	if len(roots) > 1 && roots[1].Score >= r.Score/2 {
		fmt.Fprintf(&b, " (and %s %s)", roots[1].Service, kindPhrase(roots[1].Kind))
	}
	switch len(affected) {
	case 0:
		b.WriteString("; no other service affected.")
	default:
		names := make([]string, 0, 4)
		for _, v := range affected[:min(4, len(affected))] {
			names = append(names, v.Service)
		}
		more := ""
		if len(affected) > 4 {
			more = fmt.Sprintf(" and %d more", len(affected)-4)
		}
		noun := "services"
		if len(affected) == 1 {
			noun = "service"
		}
		fmt.Fprintf(&b, "; %d %s affected: %s%s.", len(affected), noun, strings.Join(names, ", "), more)
	}
	return b.String()
}

func kindPhrase(kind string) string {
	switch kind {
	case KindDown:
		return "is down"
	case KindLatency:
		return "is slow"
	case KindSaturation:
		return "is flooding its callees"
	}
	return "is failing"
}
