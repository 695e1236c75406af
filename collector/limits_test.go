package collector

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func testLimits() Limits {
	return Limits{MaxRequestMiB: 1, MaxSpansPerRequest: 10, MaxAttributesPerSpan: 3, MaxEventsPerSpan: 2, MaxAttributeValueLength: 8}
}

func oneSpan() (ptrace.Traces, ptrace.Span) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{1})
	return td, s
}

func TestEnforceLimits(t *testing.T) {
	t.Run("attributes over the limit are dropped and counted on the span", func(t *testing.T) {
		td, s := oneSpan()
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			s.Attributes().PutStr(k, "v")
		}
		st := testLimits().enforce(td)
		require.Equal(t, 3, s.Attributes().Len())
		require.Equal(t, uint32(2), s.DroppedAttributesCount())
		require.Equal(t, 2, st.droppedAttributes)
	})
	t.Run("long strings are cut at a UTF-8 boundary", func(t *testing.T) {
		td, s := oneSpan()
		s.Attributes().PutStr("ascii", "0123456789")
		s.Attributes().PutStr("utf8", "ééééé") // 10 bytes; 8 would split nothing, 7 would
		s.Attributes().PutEmptySlice("list").AppendEmpty().SetStr(strings.Repeat("z", 20))
		st := testLimits().enforce(td)
		v, _ := s.Attributes().Get("ascii")
		require.Equal(t, "01234567", v.Str())
		v, _ = s.Attributes().Get("utf8")
		require.Equal(t, "éééé", v.Str())
		v, _ = s.Attributes().Get("list")
		require.Equal(t, "zzzzzzzz", v.Slice().At(0).Str())
		require.Equal(t, 3, st.truncatedValues)
	})
	t.Run("cut never splits a rune", func(t *testing.T) {
		require.Equal(t, "a", truncateUTF8("aé", 2))
		require.Equal(t, "aé", truncateUTF8("aé", 3))
		require.Equal(t, "", truncateUTF8("€", 2))
	})
	t.Run("events over the limit are dropped and counted", func(t *testing.T) {
		td, s := oneSpan()
		for range 5 {
			s.Events().AppendEmpty().SetName("ev")
		}
		st := testLimits().enforce(td)
		require.Equal(t, 2, s.Events().Len())
		require.Equal(t, uint32(3), s.DroppedEventsCount())
		require.Equal(t, 3, st.droppedEvents)
	})
	t.Run("resource attributes are limited too", func(t *testing.T) {
		td, _ := oneSpan()
		res := td.ResourceSpans().At(0).Resource().Attributes()
		res.PutStr("x", "1")
		res.PutStr("y", "2")
		res.PutStr("z", "3")
		st := testLimits().enforce(td)
		require.Equal(t, 3, res.Len())
		require.Equal(t, 1, st.droppedAttributes)
	})
	t.Run("spans without IDs are removed", func(t *testing.T) {
		td, _ := oneSpan()
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		spans.AppendEmpty().SetSpanID(pcommon.SpanID{2})
		noSpanID := spans.AppendEmpty()
		noSpanID.SetTraceID(pcommon.TraceID{3})
		st := testLimits().enforce(td)
		require.Equal(t, 2, st.invalidSpans)
		require.Equal(t, 1, td.SpanCount())
	})
}

func BenchmarkEnforceLimits(b *testing.B) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range 1000 {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i), 1})
		s.SetSpanID(pcommon.SpanID{byte(i), 1})
		for _, k := range []string{"net.peer.ip", "peer.service", "http.method", "http.status_code", "span.kind"} {
			s.Attributes().PutStr(k, "value")
		}
	}
	l := Limits{MaxRequestMiB: 16, MaxSpansPerRequest: 50000, MaxAttributesPerSpan: 128, MaxEventsPerSpan: 128, MaxAttributeValueLength: 4096}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		l.enforce(td)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
}

func TestEnforceLogLimits(t *testing.T) {
	l := testLimits()
	l.MaxAttributesPerLogRecord, l.MaxLogBodyBytes = 2, 5
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	for _, k := range []string{"service.name", "host.name", "extra"} {
		rl.Resource().Attributes().PutStr(k, "x")
	}
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	long := recs.AppendEmpty()
	long.Body().SetStr("héllo world") // cut inside é's neighbourhood: 5 bytes = "héll"
	for _, k := range []string{"a", "b", "c"} {
		long.Attributes().PutStr(k, "0123456789")
	}
	short := recs.AppendEmpty()
	short.Body().SetStr("ok")
	mapBody := recs.AppendEmpty()
	mapBody.Body().SetEmptyMap().PutStr("msg", "0123456789")

	st := l.enforceLogs(ld)
	require.Equal(t, 2, rl.Resource().Attributes().Len(), "resource attributes follow the per-record limit")
	require.Equal(t, "héll", long.Body().Str())
	require.Equal(t, 2, long.Attributes().Len())
	require.Equal(t, uint32(1), long.DroppedAttributesCount())
	require.Equal(t, "ok", short.Body().Str())
	v, _ := mapBody.Body().Map().Get("msg")
	require.Equal(t, "01234567", v.Str(), "strings inside structured bodies follow the attribute value limit")
	require.Equal(t, 2, st.droppedAttributes)
	require.Equal(t, 1, st.truncatedBodies)
	require.Equal(t, 3, st.truncatedValues, "two kept attributes and one map value were cut")
}
