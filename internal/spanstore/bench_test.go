package spanstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// loadGen makes batches shaped like telemetrygen's: traces of a parent and a child span from
// one service, each span with five short attributes, random trace and span IDs, start times
// advancing by step per trace.
type loadGen struct {
	rng      *rand.Rand
	next     time.Time
	step     time.Duration
	services []string
	n        int
}

func newLoadGen(start time.Time, step time.Duration, services ...string) *loadGen {
	return &loadGen{rng: rand.New(rand.NewPCG(7, 11)), next: start, step: step, services: services}
}

// batch returns a batch of traces for one service (round robin) and their trace IDs.
func (g *loadGen) batch(traces int) (ptrace.Traces, []pcommon.TraceID) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", g.services[g.n%len(g.services)])
	g.n++
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("telemetrygen")
	spans := ss.Spans()
	spans.EnsureCapacity(2 * traces)
	ids := make([]pcommon.TraceID, traces)
	for i := range traces {
		binary.LittleEndian.PutUint64(ids[i][:8], g.rng.Uint64())
		binary.LittleEndian.PutUint64(ids[i][8:], g.rng.Uint64())
		start := g.next
		g.next = g.next.Add(g.step)
		parentID := g.spanID()
		for k := range 2 {
			sp := spans.AppendEmpty()
			sp.SetTraceID(ids[i])
			if k == 0 {
				sp.SetSpanID(parentID)
				sp.SetName("lets-go")
				sp.SetKind(ptrace.SpanKindClient)
			} else {
				sp.SetSpanID(g.spanID())
				sp.SetParentSpanID(parentID)
				sp.SetName("okey-dokey-0")
				sp.SetKind(ptrace.SpanKindServer)
			}
			s := start.Add(time.Duration(k) * 3 * time.Microsecond)
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.Add(time.Duration(100+g.rng.IntN(50)) * time.Microsecond)))
			a := sp.Attributes()
			a.EnsureCapacity(5)
			a.PutStr("net.sock.peer.addr", "1.2.3.4")
			a.PutStr("peer.service", "telemetrygen-server")
			a.PutStr("http.method", "GET")
			a.PutInt("http.status_code", 200)
			a.PutInt("worker", int64(i%4))
		}
	}
	return td, ids
}

func (g *loadGen) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	binary.LittleEndian.PutUint64(id[:], g.rng.Uint64())
	return id
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settle flushes and compacts everything, as the store looks after a while.
func settle(tb testing.TB, s *Store) {
	tb.Helper()
	require.NoError(tb, s.db.Flush())
	require.NoError(tb, s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true))
	s.db.TestOnlyWaitForCleaning() // obsolete files are deleted in the background
}

// BenchmarkWrite writes telemetrygen-shaped batches of 1024 spans, one Write per op (each
// synced), and reports wall and CPU (all goroutines, flushes included) per span, and the bytes
// on disk per span once flushed and compacted. Use -benchtime=300x or more for a meaningful
// disk figure.
func BenchmarkWrite(b *testing.B) {
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			const tracesPerBatch = 512
			ctx := context.Background()
			s := openStore(b, b.TempDir(), testConfig())
			g := newLoadGen(time.Now().Add(-time.Hour), 10*time.Microsecond, "telemetrygen")
			batches := make([]ptrace.Traces, b.N) // generated up front: not part of the CPU figure
			for i := range batches {
				batches[i], _ = g.batch(tracesPerBatch)
			}
			var next atomic.Int64
			b.ReportAllocs()
			runtime.GC()
			cpu0 := cpuTime()
			b.ResetTimer()
			// Concurrent writers share fsyncs (Pebble commits them as a group), as the
			// collector's concurrent exports do.
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						if err := s.Write(ctx, batches[i]); err != nil {
							b.Error(err)
							return
						}
						batches[i] = ptrace.Traces{}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			cpu := cpuTime() - cpu0
			spans := float64(b.N) * 2 * tracesPerBatch
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
			b.ReportMetric(float64(cpu.Nanoseconds())/spans, "cpu-ns/span")
			b.ReportMetric(spans/b.Elapsed().Seconds(), "spans/s")
			settle(b, s)
			b.ReportMetric(float64(s.DiskBytes())/spans, "disk-B/span")
			live, err := s.db.EstimateDiskUsage([]byte{0}, []byte{0xff})
			require.NoError(b, err)
			b.ReportMetric(float64(live)/spans, "sst-B/span")
			if os.Getenv("FAULTLINE_BENCH_LSM") != "" && b.N > 1 {
				m := s.db.Metrics()
				fmt.Fprintf(os.Stderr, "%s\nwal %d obsolete-wal %d live %d obsolete %d zombie %d inprogress %d\n", m, m.WAL.PhysicalSize,
					m.WAL.ObsoletePhysicalSize, m.Table.Local.LiveSize, m.Table.Local.ObsoleteSize, m.Table.Local.ZombieSize, m.Compact.InProgressBytes)
			}
		})
	}
}

// benchStore fills a store with FAULTLINE_BENCH_SPANS spans (default 1,000,000) over the
// last hour from 4 services and returns some of its trace IDs.
func benchStore(b *testing.B) (*Store, []pcommon.TraceID, time.Time) {
	b.Helper()
	total := 1_000_000
	if v := os.Getenv("FAULTLINE_BENCH_SPANS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		total = n
	}
	const tracesPerBatch = 512
	traces := total / 2
	end := time.Now()
	start := end.Add(-time.Hour)
	g := newLoadGen(start, time.Hour/time.Duration(traces), "frontend", "checkout", "payment", "shipping")
	s := openStore(b, b.TempDir(), testConfig())
	ctx := context.Background()
	var ids []pcommon.TraceID
	began := time.Now()
	for written := 0; written < traces; written += tracesPerBatch {
		td, batchIDs := g.batch(tracesPerBatch)
		require.NoError(b, s.Write(ctx, td))
		ids = append(ids, batchIDs[0], batchIDs[tracesPerBatch/2])
	}
	settle(b, s)
	b.Logf("stored %d spans in %v, %d bytes on disk", traces*2, time.Since(began).Round(time.Millisecond), s.DiskBytes())
	return s, ids, end
}

func BenchmarkTraceByID(b *testing.B) {
	s, ids, _ := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		td, err := s.Trace(ctx, ids[(i*7919)%len(ids)])
		if err != nil || td.SpanCount() != 2 {
			b.Fatalf("trace: %v, %d spans", err, td.SpanCount())
		}
	}
}

func BenchmarkFindTraces(b *testing.B) {
	s, _, end := benchStore(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{"service+time", Query{Service: "payment", Start: end.Add(-30 * time.Minute), End: end.Add(-20 * time.Minute), Limit: 20}},
		{"service", Query{Service: "checkout", Limit: 20}},
		{"all", Query{Limit: 20}},
		{"service+operation+attr", Query{Service: "frontend", Operation: "okey-dokey-0", Attributes: map[string]string{"worker": "3"}, Limit: 20}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.FindTraces(ctx, tc.q)
				if err != nil || len(got) != 20 {
					b.Fatalf("find: %v, %d results", err, len(got))
				}
			}
		})
	}
}
