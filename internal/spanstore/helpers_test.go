package spanstore

import (
	"encoding/binary"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testConfig() Config {
	return Config{Retention: 7 * 24 * time.Hour, RetentionInterval: time.Minute}
}

// openStore opens a store in dir, closed when the test ends.
func openStore(t testing.TB, dir string, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg, dir, false, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func traceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], 0xfa17)
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

func spanID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

// spanSpec describes a test span; unset fields get plain defaults.
type spanSpec struct {
	trace    uint64
	span     uint64
	parent   uint64
	service  string
	name     string
	kind     ptrace.SpanKind
	start    time.Time
	duration time.Duration
	err      bool
	attrs    map[string]any
	resAttrs map[string]any
}

// buildTraces makes one ptrace.Traces with a ResourceSpans per span.
func buildTraces(t testing.TB, specs ...spanSpec) ptrace.Traces {
	t.Helper()
	td := ptrace.NewTraces()
	for _, sp := range specs {
		rs := td.ResourceSpans().AppendEmpty()
		if sp.service != "-" {
			rs.Resource().Attributes().PutStr("service.name", sp.service)
		}
		require.NoError(t, rs.Resource().Attributes().FromRaw(mergeAttrs(rs.Resource().Attributes().AsRaw(), sp.resAttrs)))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("test")
		s := ss.Spans().AppendEmpty()
		if sp.trace != 0 { // 0: no trace ID
			s.SetTraceID(traceID(sp.trace))
		}
		s.SetSpanID(spanID(sp.span))
		if sp.parent != 0 {
			s.SetParentSpanID(spanID(sp.parent))
		}
		s.SetName(sp.name)
		s.SetKind(sp.kind)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(sp.start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(sp.start.Add(sp.duration)))
		if sp.err {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
		require.NoError(t, s.Attributes().FromRaw(sp.attrs))
	}
	return td
}

func mergeAttrs(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// spanStrings renders every span with its resource and scope as one JSON document each,
// sorted, so that two Traces can be compared regardless of how spans are grouped.
func spanStrings(t testing.TB, td ptrace.Traces) []string {
	t.Helper()
	var out []string
	var m ptrace.JSONMarshaler
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			for k := range ss.Spans().Len() {
				one := ptrace.NewTraces()
				ors := one.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(ors.Resource())
				ors.SetSchemaUrl(rs.SchemaUrl())
				oss := ors.ScopeSpans().AppendEmpty()
				ss.Scope().CopyTo(oss.Scope())
				oss.SetSchemaUrl(ss.SchemaUrl())
				ss.Spans().At(k).CopyTo(oss.Spans().AppendEmpty())
				b, err := m.MarshalTraces(one)
				require.NoError(t, err)
				out = append(out, string(b))
			}
		}
	}
	sort.Strings(out)
	return out
}

func timeBase() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC) }
