package spanstore

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// richTraces returns two batches of one trace from two services, using every OTLP span field.
func richTraces(t *testing.T, base time.Time) (first, second ptrace.Traces) {
	t.Helper()
	id := traceID(42)
	first = ptrace.NewTraces()
	rs := first.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	res := rs.Resource()
	res.SetDroppedAttributesCount(3)
	require.NoError(t, res.Attributes().FromRaw(map[string]any{
		"service.name":         "frontend",
		"host.name":            "web-1",
		"process.pid":          int64(4242),
		"cloud.zone.weight":    0.25,
		"container.privileged": false,
		"k8s.labels":           map[string]any{"app": "web", "tier": []any{"a", int64(1)}},
		"blob":                 []byte{0, 1, 2, 0xff},
		"empty.list":           []any{},
		"nothing":              nil,
	}))
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl("https://scope.schema")
	ss.Scope().SetName("io.faultline.http")
	ss.Scope().SetVersion("1.2.3")
	ss.Scope().SetDroppedAttributesCount(1)
	ss.Scope().Attributes().PutStr("scope.attr", "x")

	root := ss.Spans().AppendEmpty()
	root.SetTraceID(id)
	root.SetSpanID(spanID(1))
	root.TraceState().FromRaw("vendor=1")
	root.SetName("GET /checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetFlags(1)
	root.SetStartTimestamp(pcommon.NewTimestampFromTime(base))
	root.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(250 * time.Millisecond)))
	root.Attributes().PutStr("http.method", "GET")
	root.Attributes().PutInt("http.status_code", 500)
	root.Attributes().PutStr("huge", strings.Repeat("x", 100_000))
	root.SetDroppedAttributesCount(2)
	root.SetDroppedEventsCount(4)
	root.SetDroppedLinksCount(5)
	root.Status().SetCode(ptrace.StatusCodeError)
	root.Status().SetMessage("upstream failed")
	ev := root.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(200 * time.Millisecond)))
	ev.Attributes().PutStr("exception.message", "boom")
	ev.SetDroppedAttributesCount(1)
	link := root.Links().AppendEmpty()
	link.SetTraceID(traceID(7))
	link.SetSpanID(spanID(77))
	link.TraceState().FromRaw("other=2")
	link.Attributes().PutBool("link.sampled", true)
	link.SetDroppedAttributesCount(6)
	link.SetFlags(1)

	child := ss.Spans().AppendEmpty()
	child.SetTraceID(id)
	child.SetSpanID(spanID(2))
	child.SetParentSpanID(spanID(1))
	child.SetName("call payment")
	child.SetKind(ptrace.SpanKindClient)
	child.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(10 * time.Millisecond)))
	child.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(240 * time.Millisecond)))

	// Another trace in the same batch must not leak into trace 42.
	other := ss.Spans().AppendEmpty()
	other.SetTraceID(traceID(43))
	other.SetSpanID(spanID(9))
	other.SetName("GET /health")
	other.SetStartTimestamp(pcommon.NewTimestampFromTime(base))

	second = ptrace.NewTraces()
	rs2 := second.ResourceSpans().AppendEmpty()
	rs2.Resource().Attributes().PutStr("service.name", "payment")
	ss2 := rs2.ScopeSpans().AppendEmpty()
	srv := ss2.Spans().AppendEmpty()
	srv.SetTraceID(id)
	srv.SetSpanID(spanID(3))
	srv.SetParentSpanID(spanID(2))
	srv.SetName("charge")
	srv.SetKind(ptrace.SpanKindServer)
	srv.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(20 * time.Millisecond)))
	srv.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(230 * time.Millisecond)))
	// A span starting minutes later: stored as a separate chunk of the same Write.
	late := ss2.Spans().AppendEmpty()
	late.SetTraceID(id)
	late.SetSpanID(spanID(4))
	late.SetParentSpanID(spanID(3))
	late.SetName("async settle")
	late.SetKind(ptrace.SpanKindConsumer)
	late.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(3 * time.Minute)))
	late.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(3*time.Minute + time.Second)))
	return first, second
}

// onlyTrace keeps the spans of one trace.
func onlyTrace(td ptrace.Traces, id pcommon.TraceID) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	out.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool { return s.TraceID() != id })
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return out
}

func TestRoundTripAndRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	first, second := richTraces(t, base)

	all := onlyTrace(first, traceID(42))
	s2 := ptrace.NewTraces()
	second.CopyTo(s2)
	s2.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	wantSorted := spanStrings(t, all)
	require.Len(t, wantSorted, 4)

	cfg := Config{Retention: 100 * 365 * 24 * time.Hour, RetentionInterval: time.Minute}
	s, err := Open(cfg, dir, false, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, s.Write(ctx, first))
	require.NoError(t, s.Write(ctx, second))

	check := func(t *testing.T, s *Store) {
		got, err := s.Trace(ctx, traceID(42))
		require.NoError(t, err)
		require.Equal(t, wantSorted, spanStrings(t, got))

		other, err := s.Trace(ctx, traceID(43))
		require.NoError(t, err)
		require.Equal(t, 1, other.SpanCount())

		_, err = s.Trace(ctx, traceID(44))
		require.ErrorIs(t, err, ErrNotFound)

		svcs, err := s.Services(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"frontend", "payment"}, svcs)
		ops, err := s.Operations(ctx, "payment")
		require.NoError(t, err)
		require.Equal(t, []Operation{
			{Name: "async settle", SpanKind: ptrace.SpanKindConsumer},
			{Name: "charge", SpanKind: ptrace.SpanKindServer},
		}, ops)

		sums, err := s.FindTraces(ctx, Query{Service: "payment", Operation: "charge"})
		require.NoError(t, err)
		require.Len(t, sums, 1)
		require.Equal(t, TraceSummary{
			TraceID:       traceID(42),
			RootService:   "frontend",
			RootOperation: "GET /checkout",
			Start:         base,
			Duration:      3*time.Minute + time.Second,
			SpanCount:     4,
			Error:         true,
		}, sums[0])
	}
	check(t, s)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "second Close")
	_, err = s.Trace(ctx, traceID(42))
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, s.Write(ctx, first), ErrClosed)

	t.Run("after restart", func(t *testing.T) {
		s := openStore(t, dir, cfg)
		check(t, s)
	})
	t.Run("read-only", func(t *testing.T) {
		s, err := Open(cfg, dir, true, nil, nil)
		require.NoError(t, err)
		defer func() { require.NoError(t, s.Close()) }()
		check(t, s)
		require.ErrorIs(t, s.Write(ctx, first), ErrReadOnly)
	})
}

func TestWriteOddInput(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	s, err := Open(testConfig(), t.TempDir(), false, nil, reg)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	now := time.Now()

	td := buildTraces(t,
		spanSpec{trace: 1, span: 1, service: "-", name: "no service", start: now},
		spanSpec{trace: 2, span: 1, service: "", name: "empty service", start: now},
		spanSpec{trace: 3, span: 1, service: "svc", name: "zero start"},
		spanSpec{trace: 0, span: 1, service: "svc", name: "no trace id", start: now},
	)
	td.ResourceSpans().AppendEmpty() // empty resource
	require.NoError(t, s.Write(ctx))
	require.NoError(t, s.Write(ctx, td, ptrace.NewTraces()))

	require.InDelta(t, 1, counterValue(t, s.invalidSpans), 0)
	require.InDelta(t, 3, counterValue(t, s.spansStored), 0)
	svcs, err := s.Services(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"", "svc", unknownService}, svcs)
	for _, n := range []uint64{1, 2, 3} {
		got, err := s.Trace(ctx, traceID(n))
		require.NoError(t, err)
		require.Equal(t, 1, got.SpanCount())
	}
	sums, err := s.FindTraces(ctx, Query{Service: unknownService})
	require.NoError(t, err)
	require.Len(t, sums, 1)
	require.Equal(t, traceID(1), sums[0].TraceID)

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.Write(ctxDone, td), context.Canceled)

	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	require.Subset(t, names, []string{
		"faultline_spans_stored_total", "faultline_spanstore_disk_bytes",
		"faultline_spanstore_write_duration_seconds", "faultline_spanstore_retention_deleted_traces_total",
		"faultline_spanstore_invalid_spans_total",
	})
}

func counterValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func TestConfig(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.Equal(t, Config{Retention: 168 * time.Hour, RetentionInterval: time.Minute}, c)
	require.NoError(t, c.Validate())
	require.NoError(t, fs.Parse([]string{"-spanstore.retention=24h", "-spanstore.max-disk-bytes=1000", "-spanstore.retention-interval=5s"}))
	require.Equal(t, Config{Retention: 24 * time.Hour, MaxDiskBytes: 1000, RetentionInterval: 5 * time.Second}, c)

	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero retention", Config{RetentionInterval: time.Minute}, "spanstore.retention must be positive"},
		{"negative size", Config{Retention: time.Hour, RetentionInterval: time.Minute, MaxDiskBytes: -1}, "spanstore.max_disk_bytes"},
		{"zero interval", Config{Retention: time.Hour}, "spanstore.retention_interval must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.cfg.Validate(), tc.want)
			_, err := Open(tc.cfg, t.TempDir(), false, nil, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
