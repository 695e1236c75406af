package uibench

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Layered builds traffic whose service graph has `services` instrumented services in layers
// of perLayer, each calling `fanout` services of the next layer (wrapping round), and the last
// layer calling one of a few databases and caches: the shape of a large estate, with about
// services×fanout edges. Every edge gets callsPerEdge client/server pairs ending at now; one
// service in 20 fails a third of its calls so the graph has colours.
func Layered(services, perLayer, fanout, callsPerEdge int, now time.Time) []ptrace.Traces {
	name := func(i int) string { return fmt.Sprintf("svc-%03d", i) }
	layers := (services + perLayer - 1) / perLayer
	deps := []struct{ name, system string }{{"orders-db", "postgresql"}, {"users-db", "mysql"}, {"session-cache", "redis"}, {"search", "elasticsearch"}}
	rng := rand.New(rand.NewPCG(1, 2))
	var out []ptrace.Traces
	for i := 0; i < services; i++ {
		layer := i / perLayer
		td := ptrace.NewTraces()
		caller := resourceSpans(td, name(i))
		callee := map[string]ptrace.SpanSlice{}
		failing := i%20 == 7
		for c := 0; c < callsPerEdge; c++ {
			start := now.Add(-time.Duration(rng.IntN(50_000)) * time.Millisecond)
			// Every call is made while serving a request, so each service is also a server.
			entry := caller.AppendEmpty()
			entryID := randomSpanID(rng)
			setSpan(entry, randomTraceID(rng), entryID, pcommon.SpanID{}, "handle", ptrace.SpanKindServer, start.Add(-time.Millisecond), 50*time.Millisecond)
			if layer == layers-1 || i+perLayer >= services {
				d := deps[i%len(deps)]
				s := caller.AppendEmpty()
				setSpan(s, entry.TraceID(), randomSpanID(rng), entryID, "query "+d.name, ptrace.SpanKindClient, start, time.Duration(1+rng.IntN(9))*time.Millisecond)
				s.Attributes().PutStr("db.system", d.system)
				s.Attributes().PutStr("peer.service", d.name)
				continue
			}
			for f := 0; f < fanout; f++ {
				j := (layer+1)*perLayer + (i%perLayer+f*7)%perLayer
				if j >= services {
					j = services - 1 - f
				}
				tid, cid := entry.TraceID(), randomSpanID(rng)
				d := time.Duration(2+rng.IntN(40)) * time.Millisecond
				cs := caller.AppendEmpty()
				setSpan(cs, tid, cid, entryID, "call "+name(j), ptrace.SpanKindClient, start, d)
				cs.Attributes().PutStr("peer.service", name(j))
				ss, ok := callee[name(j)]
				if !ok {
					ss = resourceSpans(td, name(j))
					callee[name(j)] = ss
				}
				sv := ss.AppendEmpty()
				setSpan(sv, tid, randomSpanID(rng), cid, "GET /"+name(j), ptrace.SpanKindServer, start.Add(time.Millisecond/2), d-time.Millisecond)
				if failing && c%3 == 0 {
					cs.Status().SetCode(ptrace.StatusCodeError)
				}
			}
		}
		out = append(out, td)
	}
	return out
}

// BigTrace is one trace of n spans over `services` services: a root fanning out into subtrees
// of random width (up to 6 children) and depth (up to 12), children running partly in
// parallel, some failing. It comes in batches of at most batch spans.
func BigTrace(n, services, batch int, now time.Time) (traceID string, batches []ptrace.Traces) {
	rng := rand.New(rand.NewPCG(3, 4))
	tid := randomTraceID(rng)
	type node struct {
		id    pcommon.SpanID
		depth int
		start time.Time
		dur   time.Duration
	}
	total := time.Duration(n) * 200 * time.Microsecond
	root := node{id: randomSpanID(rng), start: now.Add(-total - time.Second), dur: total}
	queue := []node{root}
	made := 0
	var td ptrace.Traces
	var spans map[int]ptrace.SpanSlice
	emit := func(svc int, s node, parent pcommon.SpanID) {
		if made%batch == 0 {
			td = ptrace.NewTraces()
			spans = map[int]ptrace.SpanSlice{}
			batches = append(batches, td)
		}
		ss, ok := spans[svc]
		if !ok {
			ss = resourceSpans(td, fmt.Sprintf("svc-%02d", svc))
			spans[svc] = ss
		}
		sp := ss.AppendEmpty()
		kind := ptrace.SpanKindInternal
		if s.depth%2 == 1 {
			kind = ptrace.SpanKindServer
		}
		setSpan(sp, tid, s.id, parent, fmt.Sprintf("op-%d", rng.IntN(40)), kind, s.start, s.dur)
		sp.Attributes().PutInt("depth", int64(s.depth))
		sp.Attributes().PutStr("http.route", fmt.Sprintf("/api/v1/items/%d", rng.IntN(1000)))
		if rng.IntN(50) == 0 {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("injected")
		}
		made++
	}
	emit(0, root, pcommon.SpanID{})
	for len(queue) > 0 && made < n {
		p := queue[0]
		queue = queue[1:]
		if p.depth >= 12 {
			continue
		}
		kids := 1 + rng.IntN(6)
		cursor := p.start.Add(p.dur / 20)
		for k := 0; k < kids && made < n; k++ {
			d := time.Duration(float64(p.dur) * (0.1 + 0.5*rng.Float64()))
			c := node{id: randomSpanID(rng), depth: p.depth + 1, start: cursor, dur: d}
			if end := p.start.Add(p.dur); c.start.Add(d).After(end) {
				c.dur = end.Sub(c.start)
			}
			emit(1+rng.IntN(services-1), c, p.id)
			queue = append(queue, c)
			if rng.IntN(2) == 0 { // the next sibling starts after this one: sequential calls
				cursor = c.start.Add(c.dur)
			}
		}
	}
	return tid.String(), batches
}

func resourceSpans(td ptrace.Traces, service string) ptrace.SpanSlice {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	rs.Resource().Attributes().PutStr("host.name", "bench-host-"+service[len(service)-1:])
	return rs.ScopeSpans().AppendEmpty().Spans()
}

func setSpan(s ptrace.Span, tid pcommon.TraceID, id, parent pcommon.SpanID, name string, kind ptrace.SpanKind, start time.Time, d time.Duration) {
	s.SetTraceID(tid)
	s.SetSpanID(id)
	s.SetParentSpanID(parent)
	s.SetName(name)
	s.SetKind(kind)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
}

func randomTraceID(rng *rand.Rand) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], rng.Uint64()|1)
	binary.BigEndian.PutUint64(id[8:], rng.Uint64())
	return id
}

func randomSpanID(rng *rand.Rand) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], rng.Uint64()|1)
	return id
}
