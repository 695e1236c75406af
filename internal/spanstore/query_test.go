package spanstore

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestFindTraces(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	at := base.Add
	ms := time.Millisecond

	// Written in two Writes, out of time order, to exercise merging and ordering.
	require.NoError(t, s.Write(ctx,
		buildTraces(t,
			spanSpec{trace: 4, span: 1, service: "A", name: "GET /a", start: at(4 * time.Second), duration: 50 * ms, attrs: map[string]any{"user": "u1"}},
			spanSpec{
				trace: 1, span: 1, service: "A", name: "GET /a", kind: ptrace.SpanKindServer, start: at(time.Second), duration: 100 * ms,
				attrs: map[string]any{"http.status_code": int64(200), "user": "u1"},
			},
			spanSpec{trace: 2, span: 1, service: "A", name: "GET /b", start: at(2 * time.Second), duration: 2 * time.Second, err: true, attrs: map[string]any{"user": "u2"}},
		),
		buildTraces(t,
			spanSpec{trace: 5, span: 1, service: "C", name: "x", start: at(5 * time.Second)},
		)))
	require.NoError(t, s.Write(ctx, buildTraces(t,
		spanSpec{trace: 1, span: 2, parent: 1, service: "B", name: "db", kind: ptrace.SpanKindClient, start: at(time.Second + 10*ms), duration: 30 * ms, err: true},
		spanSpec{trace: 3, span: 1, service: "B", name: "db", start: at(3 * time.Second), duration: 10 * ms, resAttrs: map[string]any{"region": "eu"}},
		// Trace 6's chunk is filed at 10s but its D span starts at 10.9s, after trace 7's.
		spanSpec{trace: 6, span: 1, service: "E", name: "root", start: at(10 * time.Second), duration: time.Second},
		spanSpec{trace: 6, span: 2, parent: 1, service: "D", name: "late child", start: at(10*time.Second + 900*ms)},
		spanSpec{trace: 7, span: 1, service: "D", name: "other", start: at(10*time.Second + 500*ms)},
	)))

	for _, tc := range []struct {
		name string
		q    Query
		want []uint64
	}{
		{"everything", Query{}, []uint64{6, 7, 5, 4, 3, 2, 1}},
		{"service", Query{Service: "A"}, []uint64{4, 2, 1}},
		{"service newest by matching span", Query{Service: "B"}, []uint64{3, 1}},
		{"service and operation", Query{Service: "A", Operation: "GET /a"}, []uint64{4, 1}},
		{"operation alone", Query{Operation: "db"}, []uint64{3, 1}},
		{"span attribute", Query{Attributes: map[string]string{"user": "u1"}}, []uint64{4, 1}},
		{"int attribute as string", Query{Attributes: map[string]string{"http.status_code": "200"}}, []uint64{1}},
		{"resource attribute", Query{Attributes: map[string]string{"region": "eu"}}, []uint64{3}},
		{"attribute mismatch", Query{Attributes: map[string]string{"user": "nobody"}}, nil},
		{"error", Query{Status: "error"}, []uint64{2, 1}},
		{"error is span level", Query{Service: "A", Status: "error"}, []uint64{2}},
		{"ok", Query{Service: "B", Status: "OK"}, []uint64{3}},
		{"min duration", Query{MinDuration: time.Second}, []uint64{6, 2}},
		{"max duration", Query{Service: "B", MaxDuration: 20 * ms}, []uint64{3}},
		{"duration range", Query{MinDuration: 40 * ms, MaxDuration: 200 * ms}, []uint64{4, 1}},
		{"time range", Query{Start: at(2 * time.Second), End: at(4 * time.Second)}, []uint64{4, 3, 2}},
		{"time range excludes chunk tail", Query{Service: "D", End: at(10*time.Second + 600*ms)}, []uint64{7}},
		{"time range includes chunk tail", Query{Service: "D", Start: at(10*time.Second + 800*ms)}, []uint64{6}},
		{"empty time range", Query{Start: at(time.Hour), End: at(2 * time.Hour)}, nil},
		{"inverted time range", Query{Start: at(4 * time.Second), End: at(2 * time.Second)}, nil},
		{"limit", Query{Limit: 2}, []uint64{6, 7}},
		{"limit with late span", Query{Service: "D", Limit: 1}, []uint64{6}},
		{"combination", Query{Service: "A", Attributes: map[string]string{"user": "u1"}, MaxDuration: 60 * ms}, []uint64{4}},
		{"conditions on one span", Query{Service: "A", Operation: "db"}, nil},
		{"unknown service", Query{Service: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindTraces(ctx, tc.q)
			require.NoError(t, err)
			var ids []uint64
			for _, g := range got {
				ids = append(ids, uint64(g.TraceID[15]))
			}
			require.Equal(t, tc.want, ids)
		})
	}

	t.Run("summary", func(t *testing.T) {
		got, err := s.FindTraces(ctx, Query{Service: "B", Operation: "db", Status: "error"})
		require.NoError(t, err)
		require.Equal(t, []TraceSummary{{
			TraceID: traceID(1), RootService: "A", RootOperation: "GET /a",
			Start: at(time.Second).UTC(), Duration: 100 * ms, SpanCount: 2, Error: true,
		}}, got)
	})
	t.Run("invalid status", func(t *testing.T) {
		_, err := s.FindTraces(ctx, Query{Status: "bad"})
		require.ErrorContains(t, err, "invalid status")
	})
	t.Run("services and operations", func(t *testing.T) {
		svcs, err := s.Services(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"A", "B", "C", "D", "E"}, svcs)
		ops, err := s.Operations(ctx, "A")
		require.NoError(t, err)
		require.Equal(t, []Operation{
			{Name: "GET /a", SpanKind: ptrace.SpanKindUnspecified},
			{Name: "GET /a", SpanKind: ptrace.SpanKindServer},
			{Name: "GET /b", SpanKind: ptrace.SpanKindUnspecified},
		}, ops)
		ops, err = s.Operations(ctx, "nope")
		require.NoError(t, err)
		require.Empty(t, ops)
	})
}

func TestFindTracesManyNewestFirst(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), testConfig())
	base := time.Now().Add(-time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	var specs []spanSpec
	for i := range 2000 {
		// Starts jitter within the chunk window so that chunk order differs from span order.
		specs = append(specs, spanSpec{
			trace: uint64(i + 1), span: 1, service: []string{"a", "b"}[i%2], name: "op",
			start: base.Add(time.Duration(i)*time.Millisecond*10 + time.Duration(rng.IntN(500))*time.Millisecond),
		})
	}
	rng.Shuffle(len(specs), func(i, j int) { specs[i], specs[j] = specs[j], specs[i] })
	for i := 0; i < len(specs); i += 100 {
		require.NoError(t, s.Write(ctx, buildTraces(t, specs[i:i+100]...)))
	}
	for _, q := range []Query{{Limit: 50}, {Service: "a", Limit: 30}, {Service: "b", Limit: 500}, {Limit: 5000}} {
		got, err := s.FindTraces(ctx, q)
		require.NoError(t, err)
		var want []time.Time
		for _, sp := range specs {
			if q.Service == "" || sp.service == q.Service {
				want = append(want, sp.start)
			}
		}
		slicesSortDesc(want)
		want = want[:min(len(want), q.Limit)]
		require.Len(t, got, len(want))
		seen := map[string]bool{}
		for i, g := range got {
			require.True(t, want[i].Equal(g.Start), "result %d: want %v got %v", i, want[i], g.Start)
			id := hex.EncodeToString(g.TraceID[:])
			require.False(t, seen[id], "duplicate trace")
			seen[id] = true
		}
	}
}

func slicesSortDesc(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].After(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func TestRetentionByAge(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), Config{Retention: 24 * time.Hour, RetentionInterval: time.Minute})
	now := time.Now()
	require.NoError(t, s.Write(ctx, buildTraces(t,
		spanSpec{trace: 1, span: 1, service: "old", name: "a", start: now.Add(-48 * time.Hour)},
		spanSpec{trace: 2, span: 1, service: "mixed", name: "a", start: now.Add(-25 * time.Hour)},
		spanSpec{trace: 3, span: 1, service: "mixed", name: "b", start: now.Add(-time.Hour)},
		spanSpec{trace: 4, span: 1, service: "new", name: "b", start: now.Add(-time.Minute)},
	)))
	require.NoError(t, s.EnforceRetention(ctx, now))

	for _, tc := range []struct {
		id   uint64
		gone bool
	}{{1, true}, {2, true}, {3, false}, {4, false}} {
		_, err := s.Trace(ctx, traceID(tc.id))
		if tc.gone {
			require.ErrorIs(t, err, ErrNotFound, "trace %d", tc.id)
		} else {
			require.NoError(t, err, "trace %d", tc.id)
		}
	}
	for svc, want := range map[string]int{"old": 0, "mixed": 1, "new": 1, "": 2} {
		got, err := s.FindTraces(ctx, Query{Service: svc})
		require.NoError(t, err)
		require.Len(t, got, want, "service %q", svc)
	}
	require.InDelta(t, 2, counterValue(t, s.retentionDeleted.WithLabelValues(reasonAge)), 0)

	// Index rows of the deleted chunks are gone too.
	it, err := s.db.NewIter(nil)
	require.NoError(t, err)
	rows := map[byte]int{}
	for valid := it.First(); valid; valid = it.Next() {
		rows[it.Key()[0]]++
	}
	require.NoError(t, it.Close())
	require.Equal(t, 2, rows[prefixData])
	require.Equal(t, 2, rows[prefixTrace])
	require.Equal(t, 2, rows[prefixService])

	// A second pass has nothing to do.
	require.NoError(t, s.EnforceRetention(ctx, now))
	require.InDelta(t, 2, counterValue(t, s.retentionDeleted.WithLabelValues(reasonAge)), 0)
}

func TestRetentionBySize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig()
	now := time.Now()
	const traces = 8000
	first := now.Add(-4 * time.Hour)
	rng := rand.New(rand.NewPCG(3, 4))
	s, err := Open(cfg, dir, false, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	for i := 0; i < traces; i += 500 {
		var specs []spanSpec
		for j := i; j < i+500; j++ {
			payload := make([]byte, 500)
			for k := range payload {
				payload[k] = byte('a' + rng.IntN(26))
			}
			specs = append(specs, spanSpec{
				trace: uint64(j + 1), span: 1, service: "svc", name: "op",
				start: first.Add(time.Duration(j) * time.Second), attrs: map[string]any{"payload": string(payload)},
			})
		}
		require.NoError(t, s.Write(ctx, buildTraces(t, specs...)))
	}
	require.NoError(t, s.Close())

	cfg.MaxDiskBytes = 1 << 20
	s = openStore(t, dir, cfg)
	before := s.DiskBytes()
	require.Greater(t, before, 2*cfg.MaxDiskBytes, "test data too small")
	require.NoError(t, s.EnforceRetention(ctx, now))
	after := s.DiskBytes()
	t.Logf("disk bytes before %d after %d (max %d)", before, after, cfg.MaxDiskBytes)
	require.LessOrEqual(t, after, cfg.MaxDiskBytes)

	_, err = s.Trace(ctx, traceID(1))
	require.ErrorIs(t, err, ErrNotFound, "oldest trace deleted")
	_, err = s.Trace(ctx, traceID(traces))
	require.NoError(t, err, "newest trace kept")
	deleted := counterValue(t, s.retentionDeleted.WithLabelValues(reasonSize))
	require.Greater(t, deleted, float64(traces/2))
	require.Less(t, deleted, float64(traces))
	got, err := s.FindTraces(ctx, Query{Limit: traces})
	require.NoError(t, err)
	require.Len(t, got, traces-int(deleted))
}

func TestRunRetention(t *testing.T) {
	s := openStore(t, t.TempDir(), Config{Retention: time.Hour, RetentionInterval: 10 * time.Millisecond})
	require.NoError(t, s.Write(context.Background(), buildTraces(t,
		spanSpec{trace: 1, span: 1, service: "a", name: "a", start: time.Now().Add(-2 * time.Hour)})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.RunRetention(ctx) }()
	require.Eventually(t, func() bool {
		_, err := s.Trace(context.Background(), traceID(1))
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}
