package rca

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// handSpan is a span of a hand-built trace; times are milliseconds after worldT0.
type handSpan struct {
	id, parent uint64 // parent 0: a root
	service    string
	kind       ptrace.SpanKind
	start, end int
	err        string // an error message ("" means OK), put in an exception event
	attrs      map[string]any
}

const (
	server = ptrace.SpanKindServer
	client = ptrace.SpanKindClient
)

func handID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

func handTree(t *testing.T, spans ...handSpan) *tree {
	t.Helper()
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.service)
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1})
		sp.SetSpanID(handID(s.id))
		if s.parent != 0 {
			sp.SetParentSpanID(handID(s.parent))
		}
		sp.SetKind(s.kind)
		sp.SetName("op")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(worldT0.Add(time.Duration(s.start) * time.Millisecond)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(worldT0.Add(time.Duration(s.end) * time.Millisecond)))
		require.NoError(t, sp.Attributes().FromRaw(s.attrs))
		if s.err != "" {
			sp.Status().SetCode(ptrace.StatusCodeError)
			ev := sp.Events().AppendEmpty()
			ev.SetName("exception")
			ev.Attributes().PutStr("exception.message", s.err)
		}
	}
	return buildTree("01", td)
}

// originSummary is an origin in comparable form: the node charged, the failed span and
// whether its callee answered nothing or too late.
type originSummary struct {
	node, spanService string
	noAnswer, timeout bool
	msg               string
	spanID            uint64
	spanKind          ptrace.SpanKind
}

func TestErrorOrigins(t *testing.T) {
	refused := "dial tcp 10.0.0.1:5432: connect: connection refused"
	tests := []struct {
		name   string
		spans  []handSpan
		want   []originSummary
		failed bool // the trace's outcome: its root failed
	}{{
		name: "failed call without an answer is charged to the callee named by peer.service",
		spans: []handSpan{
			{id: 1, service: "frontend", kind: server, end: 10, err: "call failed"},
			{
				id: 2, parent: 1, service: "frontend", kind: client, start: 1, end: 2, err: refused,
				attrs: map[string]any{"peer.service": "payments", "server.address": "10.0.0.1"},
			},
		},
		want:   []originSummary{{node: "payments", spanService: "frontend", noAnswer: true, msg: refused, spanID: 2, spanKind: client}},
		failed: true,
	}, {
		name: "failed call without an answer is charged to the database named by db.name",
		spans: []handSpan{
			{id: 1, service: "orders", kind: server, end: 10, err: "insert failed"},
			{
				id: 2, parent: 1, service: "orders", kind: client, start: 1, end: 9, err: "deadlock detected",
				attrs: map[string]any{"db.system": "postgresql", "db.name": "ordersdb", "server.address": "pg.internal"},
			},
		},
		want:   []originSummary{{node: "ordersdb", spanService: "orders", noAnswer: true, msg: "deadlock detected", spanID: 2, spanKind: client}},
		failed: true,
	}, {
		name: "failed call without an answer is charged to the system named by db.system",
		spans: []handSpan{
			{id: 1, service: "cart", kind: server, end: 10},
			{
				id: 2, parent: 1, service: "cart", kind: client, start: 1, end: 9, err: "READONLY",
				attrs: map[string]any{"db.system": "redis", "server.address": "cache.internal"},
			},
		},
		want: []originSummary{{node: "redis", spanService: "cart", noAnswer: true, msg: "READONLY", spanID: 2, spanKind: client}},
	}, {
		name: "failed call without an answer is charged to the callee named by server.address",
		spans: []handSpan{
			{id: 1, service: "checkout", kind: server, end: 10, err: "call failed"},
			{
				id: 2, parent: 1, service: "checkout", kind: client, start: 1, end: 2, err: refused,
				attrs: map[string]any{"server.address": "legacy-billing"},
			},
		},
		want:   []originSummary{{node: "legacy-billing", spanService: "checkout", noAnswer: true, msg: refused, spanID: 2, spanKind: client}},
		failed: true,
	}, {
		name: "a caller that gave up on a callee that answered in the end charges the callee",
		spans: []handSpan{
			{id: 1, service: "checkout", kind: server, end: 1100, err: "call to payments failed"},
			{
				id: 2, parent: 1, service: "checkout", kind: client, start: 10, end: 1010, err: "context deadline exceeded",
				attrs: map[string]any{"server.address": "payments", "server.port": 8080},
			},
			{id: 3, parent: 2, service: "payments", kind: server, start: 11, end: 1600},
		},
		want: []originSummary{{
			node: "payments", spanService: "checkout", timeout: true,
			msg: "context deadline exceeded", spanID: 2, spanKind: client,
		}},
		failed: true,
	}, {
		name: "a call that failed although its callee answered OK (a broken connection) charges the callee",
		spans: []handSpan{
			{id: 1, service: "checkout", kind: server, end: 100},
			{id: 2, parent: 1, service: "checkout", kind: client, start: 10, end: 90, err: "connection reset by peer"},
			{id: 3, parent: 2, service: "cart", kind: server, start: 11, end: 80},
		},
		want: []originSummary{{node: "cart", spanService: "checkout", msg: "connection reset by peer", spanID: 2, spanKind: client}},
	}, {
		name: "an error in a SERVER span none of whose children failed is its own service's",
		spans: []handSpan{
			{id: 1, service: "checkout", kind: server, end: 100, err: "NullPointerException"},
			{id: 2, parent: 1, service: "checkout", kind: client, start: 10, end: 20},
			{id: 3, parent: 2, service: "cart", kind: server, start: 11, end: 19},
		},
		want:   []originSummary{{node: "checkout", spanService: "checkout", msg: "NullPointerException", spanID: 1, spanKind: server}},
		failed: true,
	}, {
		name: "an error propagated up the tree has one origin, where it started",
		spans: []handSpan{
			{id: 1, service: "frontend", kind: server, end: 100, err: "502"},
			{id: 2, parent: 1, service: "frontend", kind: client, start: 1, end: 99, err: "502"},
			{id: 3, parent: 2, service: "checkout", kind: server, start: 2, end: 98, err: "call to payments failed"},
			{id: 4, parent: 3, service: "checkout", kind: client, start: 3, end: 97, err: "500"},
			{id: 5, parent: 4, service: "payments", kind: server, start: 4, end: 96, err: "card declined handler crashed"},
			{
				id: 6, parent: 5, service: "payments", kind: client, start: 5, end: 50,
				attrs: map[string]any{"peer.service": "stripe"},
			},
		},
		want:   []originSummary{{node: "payments", spanService: "payments", msg: "card declined handler crashed", spanID: 5, spanKind: server}},
		failed: true,
	}, {
		name: "two failures in parallel branches are two origins",
		spans: []handSpan{
			{id: 1, service: "frontend", kind: server, end: 100, err: "partial failure"},
			{
				id: 2, parent: 1, service: "frontend", kind: client, start: 1, end: 50, err: "503",
				attrs: map[string]any{"peer.service": "maps"},
			},
			{id: 3, parent: 1, service: "frontend", kind: client, start: 1, end: 60, err: "500"},
			{id: 4, parent: 3, service: "search", kind: server, start: 2, end: 59, err: "index corrupt"},
		},
		want: []originSummary{
			{node: "maps", spanService: "frontend", noAnswer: true, msg: "503", spanID: 2, spanKind: client},
			{node: "search", spanService: "search", msg: "index corrupt", spanID: 4, spanKind: server},
		},
		failed: true,
	}, {
		name: "an error caught by the caller is still an origin; the trace did not fail",
		spans: []handSpan{
			{id: 1, service: "checkout", kind: server, end: 100},
			{id: 2, parent: 1, service: "checkout", kind: client, start: 1, end: 10, err: "500"},
			{id: 3, parent: 2, service: "cart", kind: server, start: 2, end: 9, err: "boom"},
			{id: 4, parent: 1, service: "checkout", kind: client, start: 11, end: 20},
			{id: 5, parent: 4, service: "cart", kind: server, start: 12, end: 19},
		},
		want: []originSummary{{node: "cart", spanService: "cart", msg: "boom", spanID: 3, spanKind: server}},
	}, {
		name:  "no error, no origin",
		spans: []handSpan{{id: 1, service: "frontend", kind: server, end: 10}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := handTree(t, tt.spans...)
			var got []originSummary
			for _, o := range tr.errorOrigins() {
				got = append(got, originSummary{
					node: o.node, spanService: o.span.service, noAnswer: o.noAnswer, timeout: o.timeout, msg: o.span.msg,
					spanID: binary.BigEndian.Uint64(o.span.id[:]), spanKind: o.span.kind,
				})
			}
			assert.ElementsMatch(t, tt.want, got)
			assert.Equal(t, tt.failed, tr.failed(), "trace outcome")
		})
	}
}

func TestBuildTreeOrphansAreRoots(t *testing.T) {
	// The parent of span 2 was never received: span 2 is a root of what is left.
	tr := handTree(t,
		handSpan{id: 1, service: "frontend", kind: server, end: 10},
		handSpan{id: 2, parent: 99, service: "worker", kind: server, start: 20, end: 30, err: "boom"})
	require.Len(t, tr.roots, 2)
	assert.True(t, tr.failed(), "a failed root fails the trace")
}

func TestIsTimeout(t *testing.T) {
	for msg, want := range map[string]bool{
		"context deadline exceeded":            true,
		"Read timed out":                       true,
		"java.net.SocketTimeoutException":      true,
		"DEADLINE_EXCEEDED":                    true,
		"connection refused":                   false,
		"503 Service Unavailable":              false,
		"ERROR: deadlock detected (SQLSTATE)":  false, // "deadlock" is not "deadline"
		"upstream request timeout":             true,
		"invariant violated in payments":       false,
		"i/o timeout while reading from redis": true,
	} {
		assert.Equal(t, want, isTimeout(msg, ptrace.NewSpan()), msg)
	}
	sp := ptrace.NewSpan()
	sp.Attributes().PutInt("rpc.grpc.status_code", 4)
	assert.True(t, isTimeout("", sp), "gRPC DEADLINE_EXCEEDED")
	sp = ptrace.NewSpan()
	sp.Attributes().PutStr("error.type", "timeout")
	assert.True(t, isTimeout("", sp), "error.type")
}

func TestExclusiveNs(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	tests := []struct {
		name     string
		children [][2]int // start, end in ms; the parent runs from 0 to 100
		want     int64    // ms
	}{
		{name: "no children: the whole span", want: 100},
		{name: "one child", children: [][2]int{{10, 40}}, want: 70},
		{name: "sequential children", children: [][2]int{{10, 20}, {30, 50}}, want: 70},
		{name: "touching children", children: [][2]int{{10, 20}, {20, 30}}, want: 80},
		{name: "overlapping parallel children count once", children: [][2]int{{10, 40}, {30, 60}, {35, 45}}, want: 50},
		{name: "a child inside another", children: [][2]int{{10, 90}, {20, 30}}, want: 20},
		{name: "children given out of order", children: [][2]int{{60, 70}, {10, 20}, {15, 25}}, want: 75},
		{name: "a child outliving the parent counts up to the parent's end", children: [][2]int{{80, 300}}, want: 80},
		{name: "a child starting before the parent counts from the parent's start", children: [][2]int{{-50, 10}}, want: 90},
		{name: "children entirely outside the parent do not count", children: [][2]int{{120, 150}, {-30, -10}}, want: 100},
		{name: "overlapping and outliving together", children: [][2]int{{10, 50}, {40, 130}, {0, 5}}, want: 5},
		{name: "a child covering the whole parent", children: [][2]int{{-1, 101}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := []handSpan{{id: 1, service: "checkout", kind: server, start: 0, end: 100}}
			for i, c := range tt.children {
				spans = append(spans, handSpan{id: uint64(i + 2), parent: 1, service: "checkout", kind: client, start: c[0], end: c[1]})
			}
			tr := handTree(t, spans...)
			require.Len(t, tr.roots, 1)
			assert.Equal(t, ms(tt.want), tr.roots[0].exclusiveNs())
		})
	}
}

// TestLatencyExcess: the extra exclusive time of slow traces over baseline traces goes to
// the node whose own time grew, not to the callers waiting for it.
func TestLatencyExcess(t *testing.T) {
	trace := func(paymentsMs int) *tree {
		return handTree(t,
			handSpan{id: 1, service: "checkout", kind: server, end: 20 + paymentsMs},
			handSpan{
				id: 2, parent: 1, service: "checkout", kind: client, start: 10, end: 10 + paymentsMs,
				attrs: map[string]any{"server.address": "payments", "server.port": 8080},
			},
			handSpan{id: 3, parent: 2, service: "payments", kind: server, start: 11, end: 9 + paymentsMs})
	}
	excess := func(slowMs, baseMs int) map[string]time.Duration {
		slow, base := opTime{}, opTime{}
		for range 3 {
			slow.add(trace(slowMs))
			base.add(trace(baseMs))
		}
		got, common := latencyExcess(slow, base)
		assert.InDelta(t, 1, common, 0, "too few operations for a common slowdown")
		return got
	}
	got := excess(500, 50)
	assert.Equal(t, 3*450*time.Millisecond, got["payments"], "payments' own time grew by 450 ms in 3 traces")
	assert.Zero(t, got["checkout"], "checkout only waited")
	assert.Empty(t, excess(52, 50), "2 ms more is jitter")
}

// When most operations slowed by a common factor (a saturated host), what counts is the
// growth beyond it: the one service that slowed more is charged, the others are not.
func TestLatencyExcessCommonSlowdown(t *testing.T) {
	op := func(node string, n int, mean time.Duration) (opKey, *struct {
		sum   time.Duration
		count int
	},
	) {
		return opKey{node: node, name: "GET /" + node}, &struct {
			sum   time.Duration
			count int
		}{sum: mean * time.Duration(n), count: n}
	}
	slow, base := opTime{}, opTime{}
	for i, node := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		k, v := op(node, 10, time.Duration(10+i)*time.Millisecond)
		base[k] = v
		_, v = op(node, 10, 3*time.Duration(10+i)*time.Millisecond) // 3x slower, like everything
		slow[k] = v
	}
	k, v := op("hog", 10, 5*time.Millisecond)
	base[k] = v
	_, v = op("hog", 10, 45*time.Millisecond) // 9x: 30 ms beyond the common 3x
	slow[k] = v
	got, common := latencyExcess(slow, base)
	assert.InDelta(t, 3, common, 0.01)
	assert.Equal(t, 10*30*time.Millisecond, got["hog"])
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		assert.Zero(t, got[n], n)
	}

	// A cascade: one callee's own time grew, the rest did not; no common slowdown.
	for _, node := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		k := opKey{node: node, name: "GET /" + node}
		slow[k] = base[k]
	}
	got, common = latencyExcess(slow, base)
	assert.InDelta(t, 1, common, 0)
	assert.Equal(t, 10*40*time.Millisecond, got["hog"])
}
