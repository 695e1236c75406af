package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// bigTrace is a 1,000-span trace over five services: each span has eight attributes of mixed
// types and one event.
func bigTrace(id pcommon.TraceID) ptrace.Traces {
	const spans, services = 1000, 5
	td := ptrace.NewTraces()
	scopes := make([]ptrace.ScopeSpans, services)
	for i := range services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("service-%d", i))
		rs.Resource().Attributes().PutStr("host.name", fmt.Sprintf("host-%d", i))
		scopes[i] = rs.ScopeSpans().AppendEmpty()
		scopes[i].Scope().SetName("bench")
	}
	for i := range spans {
		s := scopes[i%services].Spans().AppendEmpty()
		s.SetTraceID(id)
		s.SetSpanID(pcommon.SpanID{6: byte(i >> 8), 7: byte(i)})
		if i > 0 {
			s.SetParentSpanID(pcommon.SpanID{6: byte((i - 1) / 2 >> 8), 7: byte((i - 1) / 2)})
		}
		s.SetName(fmt.Sprintf("op-%d", i%20))
		s.SetKind(ptrace.SpanKind(1 + i%5))
		start := base.Add(time.Duration(i) * time.Millisecond)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(5 * time.Millisecond)))
		a := s.Attributes()
		a.PutStr("http.method", "GET")
		a.PutStr("http.route", "/api/items/{id}")
		a.PutInt("http.status_code", 200)
		a.PutDouble("load", 0.75)
		a.PutBool("cache.hit", i%2 == 0)
		a.PutStr("db.statement", "SELECT * FROM items WHERE id = ?")
		a.PutStr("net.peer.name", "db.internal")
		a.PutInt("retry", int64(i%3))
		if i%10 == 0 {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.Status().SetMessage("boom")
		}
		ev := s.Events().AppendEmpty()
		ev.SetName("cache.lookup")
		ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
		ev.Attributes().PutStr("key", "item:42")
	}
	return td
}

// BenchmarkTraceByID serves GET /api/v1/traces/{trace_id} for a 1,000-span trace from the
// real store: read, conversion and encoding.
func BenchmarkTraceByID(b *testing.B) {
	for _, path := range []string{"/api/v1/traces/", "/jaeger/api/traces/"} {
		b.Run(path, func(b *testing.B) {
			id := pcommon.TraceID{0: 0xbe, 15: 0x01}
			store := openStore(b)
			require.NoError(b, store.Write(context.Background(), bigTrace(id)))
			api, err := NewAPI(testCfg, store, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			require.NoError(b, err)
			mux := http.NewServeMux()
			api.Register(mux)
			req := httptest.NewRequest(http.MethodGet, path+id.String(), nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				b.SetBytes(int64(w.Body.Len()))
			}
		})
	}
}

// BenchmarkConvert measures the conversions of a 1,000-span trace alone, with encoding.
func BenchmarkConvert(b *testing.B) {
	id := pcommon.TraceID{0: 0xbe, 15: 0x01}
	td := bigTrace(id)
	b.Run("jaeger", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := json.NewEncoder(io.Discard).Encode(toJaegerTrace(id, td)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("faultline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := json.NewEncoder(io.Discard).Encode(traceToJSON(id, td)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
