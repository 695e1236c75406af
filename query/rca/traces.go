package rca

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/faultline/faultline/collector/servicegraph"
)

// span is one span of a trace tree with what attribution needs.
type span struct {
	id, parent pcommon.SpanID
	service    string
	name       string
	kind       ptrace.SpanKind
	start, end int64 // Unix ns
	err        bool
	timeout    bool   // the error says a deadline passed
	msg        string // status message, else the first exception message
	callee     string // CLIENT/PRODUCER: the callee named from the attributes
	children   []*span
}

func (s *span) isCall() bool {
	return s.kind == ptrace.SpanKindClient || s.kind == ptrace.SpanKindProducer
}

func (s *span) isServe() bool {
	return s.kind == ptrace.SpanKindServer || s.kind == ptrace.SpanKindConsumer
}

// answer is the callee's own span under a call: its SERVER/CONSUMER child, nil when the
// callee sent none (a database, a dead service, a connection that broke first).
func (s *span) answer() *span {
	for _, c := range s.children {
		if c.isServe() {
			return c
		}
	}
	return nil
}

// target is the node a span's own trouble is charged to: its service, or for a call the
// callee (its answering service, else the callee its attributes name).
func (s *span) target() string {
	if !s.isCall() {
		return s.service
	}
	if a := s.answer(); a != nil {
		return a.service
	}
	return s.callee
}

// tree is one trace: its spans and roots (spans whose parent is not in the trace).
type tree struct {
	id    string
	spans []*span
	roots []*span
}

// buildTree indexes a trace's spans by parent.
func buildTree(id string, td ptrace.Traces) *tree {
	t := &tree{id: id}
	byID := map[pcommon.SpanID]*span{}
	for _, rs := range td.ResourceSpans().All() {
		svc := "unknown"
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok && v.Str() != "" {
			svc = v.Str()
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				s := &span{
					id: sp.SpanID(), parent: sp.ParentSpanID(), service: svc, name: sp.Name(), kind: sp.Kind(),
					start: int64(sp.StartTimestamp()), end: int64(sp.EndTimestamp()),
					err: sp.Status().Code() == ptrace.StatusCodeError, msg: sp.Status().Message(),
				}
				if s.end < s.start {
					s.end = s.start
				}
				if s.err {
					if s.msg == "" {
						s.msg = exceptionMessage(sp)
					}
					s.timeout = isTimeout(s.msg, sp)
				}
				if s.isCall() {
					s.callee, _ = servicegraph.CalleeOf(sp.Attributes())
				}
				byID[s.id] = s
				t.spans = append(t.spans, s)
			}
		}
	}
	for _, s := range t.spans {
		if p, ok := byID[s.parent]; ok && s.parent != s.id {
			p.children = append(p.children, s)
		} else {
			t.roots = append(t.roots, s)
		}
	}
	return t
}

func exceptionMessage(sp ptrace.Span) string {
	for _, ev := range sp.Events().All() {
		if ev.Name() != "exception" {
			continue
		}
		if v, ok := ev.Attributes().Get("exception.message"); ok {
			return v.AsString()
		}
	}
	return ""
}

// isTimeout tells a caller that gave up waiting from other failures: the words of Go, Java,
// gRPC and HTTP clients, or an error.type attribute saying so.
func isTimeout(msg string, sp ptrace.Span) bool {
	if v, ok := sp.Attributes().Get("error.type"); ok {
		msg += " " + v.AsString()
	}
	if v, ok := sp.Attributes().Get("rpc.grpc.status_code"); ok && v.Int() == 4 {
		return true
	}
	m := strings.ToLower(msg)
	for _, w := range []string{"deadline", "timeout", "timed out", "time out"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// failed reports whether the trace's outcome was an error: a root span failed.
func (t *tree) failed() bool {
	for _, r := range t.roots {
		if r.err {
			return true
		}
	}
	return false
}

// origin is an error span where a failure starts, charged to a node.
type origin struct {
	node     string
	span     *span
	noAnswer bool // a call whose callee sent no span of its own
	timeout  bool // a call that gave up waiting for a callee that answered late
}

// errorOrigins finds the spans where the trace's errors start: error spans none of whose
// children failed. A failed call is charged to its callee: the callee sent nothing (down,
// unreachable, a database), answered too late (the caller timed out), or broke the
// connection after answering.
func (t *tree) errorOrigins() []origin {
	var out []origin
	for _, s := range t.spans {
		if !s.err || slices.ContainsFunc(s.children, func(c *span) bool { return c.err }) {
			continue
		}
		o := origin{node: s.target(), span: s}
		if s.isCall() {
			a := s.answer()
			o.noAnswer = a == nil
			o.timeout = s.timeout
		}
		out = append(out, o)
	}
	return out
}

// exclusiveNs is the time a span spent on its own: its duration minus the union of its
// children's intervals within it. A caller waiting for a callee spends no time of its own.
func (s *span) exclusiveNs() int64 {
	if len(s.children) == 0 {
		return s.end - s.start
	}
	iv := make([][2]int64, 0, len(s.children))
	for _, c := range s.children {
		a, b := max(c.start, s.start), min(c.end, s.end)
		if a < b {
			iv = append(iv, [2]int64{a, b})
		}
	}
	slices.SortFunc(iv, func(x, y [2]int64) int { return cmp.Compare(x[0], y[0]) })
	covered, curA, curB := int64(0), int64(-1), int64(-1)
	for _, x := range iv {
		if x[0] > curB {
			covered += curB - curA
			curA, curB = x[0], x[1]
			continue
		}
		curB = max(curB, x[1])
	}
	covered += curB - curA
	return s.end - s.start - covered
}

// opKey is where exclusive time is compared: one operation of one node, from one kind of span.
type opKey struct {
	node string
	name string
	call bool
}

// opTime accumulates exclusive time per operation over a set of traces.
type opTime map[opKey]*struct {
	sum   time.Duration
	count int
}

func (o opTime) add(t *tree) {
	for _, s := range t.spans {
		k := opKey{node: s.target(), name: s.name, call: s.isCall()}
		e := o[k]
		if e == nil {
			e = &struct {
				sum   time.Duration
				count int
			}{}
			o[k] = e
		}
		e.sum += time.Duration(s.exclusiveNs())
		e.count++
	}
}

// minGrowth is the least growth of an operation's mean exclusive time that counts.
const minGrowth = 5 * time.Millisecond

// latencyExcess charges the extra exclusive time of the slow traces over the baseline traces
// to nodes: per operation, the number of slow spans times the growth of their mean beyond the
// common slowdown (see commonSlowdown), which it also returns.
func latencyExcess(slow, base opTime) (map[string]time.Duration, float64) {
	common := commonSlowdown(slow, base)
	out := map[string]time.Duration{}
	for k, s := range slow {
		mean := s.sum / time.Duration(s.count)
		var baseMean time.Duration
		if b := base[k]; b != nil {
			baseMean = b.sum / time.Duration(b.count)
		}
		// Growth below a few milliseconds or a fifth of the usual is jitter.
		if grow := mean - time.Duration(float64(baseMean)*common); grow >= minGrowth && grow*5 >= baseMean {
			out[k.node] += grow * time.Duration(s.count)
		}
	}
	return out, common
}

// Common slowdown: when most operations, everywhere, got slower by about the same factor,
// something they share is saturated (the CPU of a host they run on, a noisy neighbour), and
// what stands out is the growth beyond that factor. In a cascade the callers' own time does
// not grow, so the median operation's factor stays near 1 and nothing changes.
const (
	commonMinOps    = 5   // operations measured in both samples, for a median to mean something
	commonMinCount  = 3   // spans per operation in each sample
	commonThreshold = 1.3 // a median factor below this is no common slowdown
)

// commonSlowdown is the median factor by which the operations' mean exclusive time grew,
// or 1 when it is below commonThreshold or too few operations were measured.
func commonSlowdown(slow, base opTime) float64 {
	var ratios []float64
	for k, s := range slow {
		b := base[k]
		if b == nil || s.count < commonMinCount || b.count < commonMinCount || b.sum <= 0 {
			continue
		}
		ratios = append(ratios, (float64(s.sum)/float64(s.count))/(float64(b.sum)/float64(b.count)))
	}
	if len(ratios) < commonMinOps {
		return 1
	}
	if m := quantile(ratios, 0.5); m >= commonThreshold {
		return m
	}
	return 1
}
