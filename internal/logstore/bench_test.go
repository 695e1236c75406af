package logstore

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
	"go.opentelemetry.io/collector/pdata/plog"
)

// logGen makes batches shaped like an instrumented service's logs: lines of about 100 bytes
// mixing a few message templates with random ids, durations and paths; INFO mostly, some WARN
// and ERROR; half of them inside a trace (a new trace every 4 lines); two attributes each.
// Times advance by step per line.
type logGen struct {
	rng      *rand.Rand
	next     time.Time
	step     time.Duration
	services []string
	hosts    []string
	n        int
	trace    pcommon.TraceID
}

func newLogGen(start time.Time, step time.Duration, services, hosts []string) *logGen {
	return &logGen{rng: rand.New(rand.NewPCG(7, 11)), next: start, step: step, services: services, hosts: hosts}
}

var (
	benchPaths = []string{"/api/orders", "/api/cart", "/api/users", "/healthz", "/api/payments/charge"}
	benchUsers = []string{"alice", "bob", "carol", "dave", "erin", "frank"}
)

// batch returns one plog.Logs of n records of one service and host (round robin), and the
// trace IDs it used.
func (g *logGen) batch(n int) (plog.Logs, []pcommon.TraceID) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", g.services[g.n%len(g.services)])
	ra.PutStr("host.name", g.hosts[(g.n/len(g.services))%len(g.hosts)])
	ra.PutStr("service.version", "1.4.2")
	g.n++
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("app")
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(n)
	var ids []pcommon.TraceID
	for i := range n {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(g.next))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(g.next.Add(time.Millisecond)))
		g.next = g.next.Add(g.step)
		sev, text := plog.SeverityNumberInfo, "INFO"
		switch r := g.rng.IntN(100); {
		case r < 3:
			sev, text = plog.SeverityNumberError, "ERROR"
		case r < 10:
			sev, text = plog.SeverityNumberWarn, "WARN"
		}
		lr.SetSeverityNumber(sev)
		lr.SetSeverityText(text)
		path := benchPaths[g.rng.IntN(len(benchPaths))]
		switch g.rng.IntN(4) {
		case 0:
			lr.Body().SetStr(fmt.Sprintf("http request GET %s/%d completed with status=%d in %.1fms for user=%s", path, g.rng.IntN(100000), 200, g.rng.Float64()*300, benchUsers[g.rng.IntN(len(benchUsers))]))
		case 1:
			lr.Body().SetStr(fmt.Sprintf("cache miss for key session:%08x in the session store, loading it from database shard %d", g.rng.Uint32(), g.rng.IntN(16)))
		case 2:
			lr.Body().SetStr(fmt.Sprintf("upstream call to payment-gateway %s timed out after %dms (attempt %d of 3), retrying with backoff", path, 500+g.rng.IntN(3000), 1+g.rng.IntN(3)))
		default:
			lr.Body().SetStr(fmt.Sprintf("consumer processed a batch of %d messages from queue orders-%d in %dms, consumer lag is now %d", g.rng.IntN(500), g.rng.IntN(8), g.rng.IntN(900), g.rng.IntN(10000)))
		}
		if i%2 == 0 {
			if i%8 == 0 {
				binary.LittleEndian.PutUint64(g.trace[:8], g.rng.Uint64())
				binary.LittleEndian.PutUint64(g.trace[8:], g.rng.Uint64())
				ids = append(ids, g.trace)
			}
			lr.SetTraceID(g.trace)
			var sp pcommon.SpanID
			binary.LittleEndian.PutUint64(sp[:], g.rng.Uint64())
			lr.SetSpanID(sp)
		}
		a := lr.Attributes()
		a.EnsureCapacity(2)
		a.PutStr("code.function", "handle")
		a.PutInt("thread.id", int64(g.rng.IntN(32)))
	}
	return ld, ids
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

// BenchmarkWrite writes batches of 1000 records (~100-byte bodies), one Write per op (each
// synced), and reports lines per second, wall and CPU (all goroutines, flushes included) per
// line, and the bytes on disk per line once flushed and compacted (disk-B includes Pebble's
// fixed ~100 MiB of recycled write-ahead logs; sst-B is the tables alone). Use
// -benchtime=300x or more for a meaningful disk figure.
func BenchmarkWrite(b *testing.B) {
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			const perBatch = 1000
			ctx := context.Background()
			s := openStore(b, b.TempDir(), testConfig())
			g := newLogGen(time.Now().Add(-time.Hour), 10*time.Microsecond,
				[]string{"frontend", "checkout", "payment", "shipping"}, []string{"node-1", "node-2", "node-3"})
			batches := make([]plog.Logs, b.N) // generated up front: not part of the CPU figure
			bodyBytes := 0
			for i := range batches {
				batches[i], _ = g.batch(perBatch)
				lrs := batches[i].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for k := range lrs.Len() {
					bodyBytes += len(lrs.At(k).Body().Str())
				}
			}
			var next atomic.Int64
			b.ReportAllocs()
			runtime.GC()
			cpu0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						if err := s.Write(ctx, batches[i]); err != nil {
							b.Error(err)
							return
						}
						batches[i] = plog.Logs{}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			cpu := cpuTime() - cpu0
			lines := float64(b.N) * perBatch
			b.ReportMetric(lines/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/lines, "ns/line")
			b.ReportMetric(float64(cpu.Nanoseconds())/lines, "cpu-ns/line")
			b.ReportMetric(float64(bodyBytes)/lines, "body-B/line")
			settle(b, s)
			b.ReportMetric(float64(s.DiskBytes())/lines, "disk-B/line")
			live, err := s.db.EstimateDiskUsage([]byte{0}, []byte{0xff})
			require.NoError(b, err)
			b.ReportMetric(float64(live)/lines, "sst-B/line")
			if os.Getenv("FAULTLINE_BENCH_LSM") != "" {
				for _, p := range []byte{prefixData, prefixService, prefixTrace} {
					n, err := s.db.EstimateDiskUsage([]byte{p}, []byte{p + 1})
					require.NoError(b, err)
					fmt.Fprintf(os.Stderr, "%c: %.1f B/line\n", p, float64(n)/lines)
				}
				fmt.Fprintf(os.Stderr, "%s\n", s.db.Metrics())
			}
		})
	}
}

// benchStore fills a store with FAULTLINE_BENCH_LINES lines (default 1,000,000) over the last
// hour from 4 services on 3 hosts and returns some of its trace IDs.
func benchStore(b *testing.B) (*Store, []pcommon.TraceID, time.Time) {
	b.Helper()
	total := 1_000_000
	if v := os.Getenv("FAULTLINE_BENCH_LINES"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		total = n
	}
	const perBatch = 1000
	end := time.Now()
	start := end.Add(-time.Hour)
	g := newLogGen(start, time.Hour/time.Duration(total), []string{"frontend", "checkout", "payment", "shipping"}, []string{"node-1", "node-2", "node-3"})
	s := openStore(b, b.TempDir(), testConfig())
	ctx := context.Background()
	var ids []pcommon.TraceID
	began := time.Now()
	for written := 0; written < total; written += perBatch {
		ld, batchIDs := g.batch(perBatch)
		require.NoError(b, s.Write(ctx, ld))
		ids = append(ids, batchIDs[0], batchIDs[len(batchIDs)/2])
	}
	settle(b, s)
	b.Logf("stored %d lines in %v, %d bytes on disk", total, time.Since(began).Round(time.Millisecond), s.DiskBytes())
	return s, ids, end
}

// BenchmarkSearchText: free-text searches over the last hour, newest 100 matches.
func BenchmarkSearchText(b *testing.B) {
	s, _, end := benchStore(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    Query
		want int
	}{
		{"recent", Query{Limit: 100}, 100},
		{"common-term", Query{Text: "retrying", Limit: 100}, 100},
		{"rare-term", Query{Text: "session:00000000", Limit: 100}, 0},
		{"phrase+severity", Query{Text: `"timed out after 9"`, MinSeverity: SeverityError, Limit: 100}, 100},
		{"service+rare", Query{Service: "payment", Host: "node-2", Text: "lag 9999", Limit: 100}, -1},
		{"window-10m", Query{Text: "alice -healthz", Start: end.Add(-30 * time.Minute), End: end.Add(-20 * time.Minute), Limit: 100}, 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q := tc.q
				if q.End.IsZero() {
					q.Start, q.End = end.Add(-time.Hour), end
				}
				got, err := s.Search(ctx, q)
				if err != nil || (tc.want >= 0 && len(got) != tc.want) {
					b.Fatalf("search: %v, %d results", err, len(got))
				}
			}
		})
	}
}

// BenchmarkSearchTraceID: the lines of one trace over the last hour and over a day.
func BenchmarkSearchTraceID(b *testing.B) {
	s, ids, end := benchStore(b)
	ctx := context.Background()
	for _, window := range []time.Duration{time.Hour, 24 * time.Hour} {
		b.Run("window="+window.String(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				got, err := s.Search(ctx, Query{TraceID: ids[(i*7919)%len(ids)], Start: end.Add(-window), End: end})
				if err != nil || len(got) != 4 {
					b.Fatalf("search: %v, %d results", err, len(got))
				}
			}
		})
	}
}
