package servicegraph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzConsumeTraces feeds arbitrary callee attributes, IDs and kinds: the generator must never
// panic, and every client span must end up counted exactly once.
func FuzzConsumeTraces(f *testing.F) {
	f.Add("https://user@api.github.com:8443/x", "10.0.0.1", "443", "", "redis", byte(3), byte(1), uint8(3), uint8(2))
	f.Add("http://[::1]:8080/", "", "", "payments", "", byte(0), byte(0), uint8(3), uint8(3))
	f.Add("://", "a:b:c", "-1", "", "", byte(1), byte(1), uint8(4), uint8(5))
	f.Fuzz(func(t *testing.T, url, addr, port, peer, db string, trace, parent byte, kind1, kind2 uint8) {
		g, err := New(Config{Wait: time.Second, MaxPending: 2, FlushInterval: time.Minute}, discardAppendable{}, nil, nil)
		require.NoError(t, err)
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", peer)
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		clients := 0
		for i, k := range []uint8{kind1, kind2, kind1} {
			s := spans.AppendEmpty()
			s.SetKind(ptrace.SpanKind(k % 6))
			s.SetTraceID(pcommon.TraceID{trace})
			s.SetSpanID(pcommon.SpanID{byte(i)})
			s.SetParentSpanID(pcommon.SpanID{parent})
			s.Attributes().PutStr("url.full", url)
			s.Attributes().PutStr("server.address", addr)
			s.Attributes().PutStr("server.port", port)
			s.Attributes().PutStr("peer.service", peer)
			s.Attributes().PutStr("db.system", db)
			if sk := s.Kind(); sk == ptrace.SpanKindClient || sk == ptrace.SpanKindProducer {
				clients++
			}
		}
		g.ConsumeTraces(td)
		g.expireAll()
		var edges uint64
		for _, s := range g.series {
			if s.group == &edgeGroup {
				edges += s.requests
			}
		}
		require.Equal(t, uint64(clients), edges)
		require.NoError(t, g.Flush(time.Unix(1_700_000_000, 0)))
	})
}
