package uibench

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func eachSpan(tds []ptrace.Traces, fn func(service string, s ptrace.Span)) {
	for _, td := range tds {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					fn(svc.Str(), ss.At(k))
				}
			}
		}
	}
}

// The layered estate has every service as a server, each calling into the next layer, and the
// last layer calling the dependencies: the graph the topology benchmark draws.
func TestLayeredHasEveryServiceAndAboutTwoEdgesEach(t *testing.T) {
	tds := Layered(200, 20, 2, 1, time.Now())
	servers := map[string]bool{}
	edges := map[string]bool{}
	byID := map[string]string{}
	eachSpan(tds, func(svc string, s ptrace.Span) {
		byID[s.SpanID().String()] = svc
	})
	eachSpan(tds, func(svc string, s ptrace.Span) {
		switch s.Kind() {
		case ptrace.SpanKindServer:
			servers[svc] = true
			if caller, ok := byID[s.ParentSpanID().String()]; ok && !s.ParentSpanID().IsEmpty() {
				edges[caller+">"+svc] = true
			}
		case ptrace.SpanKindClient:
			if peer, ok := s.Attributes().Get("db.system"); ok && peer.Str() != "" {
				p, _ := s.Attributes().Get("peer.service")
				edges[svc+">"+p.Str()] = true
			}
		}
	})
	require.Len(t, servers, 200)
	require.GreaterOrEqual(t, len(edges), 370)
	require.LessOrEqual(t, len(edges), 400)
}

// The big trace has exactly n spans, one root, and every other span's parent is in it.
func TestBigTraceIsOneTreeOfNSpans(t *testing.T) {
	id, batches := BigTrace(10_000, 20, 2000, time.Now())
	require.Len(t, id, 32)
	require.Len(t, batches, 5)
	ids := map[string]bool{}
	var spans []ptrace.Span
	services := map[string]bool{}
	eachSpan(batches, func(svc string, s ptrace.Span) {
		require.Equal(t, id, s.TraceID().String())
		require.False(t, ids[s.SpanID().String()], "span IDs are unique")
		ids[s.SpanID().String()] = true
		spans = append(spans, s)
		services[svc] = true
		require.True(t, strings.HasPrefix(svc, "svc-"))
	})
	require.Len(t, spans, 10_000)
	roots := 0
	for _, s := range spans {
		if s.ParentSpanID().IsEmpty() {
			roots++
			continue
		}
		require.True(t, ids[s.ParentSpanID().String()], "parent present")
		require.LessOrEqual(t, s.StartTimestamp(), s.EndTimestamp())
	}
	require.Equal(t, 1, roots)
	require.Len(t, services, 20)
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Faultline: "gen.go", Script: "gen.go", Services: 200, Spans: 10, Runs: 1}
	require.NoError(t, cfg.Validate())
	bad := cfg
	bad.Services = 1
	require.ErrorContains(t, bad.Validate(), "-services")
	bad = cfg
	bad.Script = "missing.mjs"
	require.ErrorContains(t, bad.Validate(), "missing.mjs")
}

func TestReportMarksGoals(t *testing.T) {
	var b strings.Builder
	WriteReport(&b, []PageResult{
		{Page: "topology", Elements: 204, RenderMS: []float64{700, 650, 1200}, WarmMS: []float64{400, 500, 450}},
		{Page: "trace", Elements: 10000, RenderMS: []float64{900, 1000}},
		{Page: "trace", Elements: 0}, // the browser reported nothing: a failed goal, not a panic
	})
	out := b.String()
	require.Contains(t, out, "| topology | 204 | 3 | 700 | 1200 | < 1000 ✘ | 450 / 500 |")
	require.Contains(t, out, "| trace | 10000 | 2 | 950 | 1000 | < 2000 ✔ | n/a / n/a |")
	require.Contains(t, out, "| trace | 0 | 0 | n/a | n/a | < 2000 ✘ | n/a / n/a |")
}
