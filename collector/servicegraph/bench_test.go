package servicegraph

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// discardAppendable accepts and drops every sample, so BenchmarkFlush measures the generator.
type discardAppendable struct{}

func (discardAppendable) Appender(context.Context) storage.Appender { return discardAppender{} }

type discardAppender struct{ storage.Appender }

func (discardAppender) Append(ref storage.SeriesRef, _ labels.Labels, _ int64, _ float64) (storage.SeriesRef, error) {
	if ref == 0 {
		ref = 1
	}
	return ref, nil
}
func (discardAppender) Commit() error   { return nil }
func (discardAppender) Rollback() error { return nil }

// telemetrygenBatch is n two-span traces like telemetrygen's: a CLIENT span of service
// "telemetrygen-client" and its SERVER child of "telemetrygen-server", as the two SDKs send them
// (one resource each). With sameBatch the two resources come in one ptrace.Traces.
func telemetrygenBatch(n int, seed uint64) (client, server ptrace.Traces) {
	client, server = ptrace.NewTraces(), ptrace.NewTraces()
	cs := client.ResourceSpans().AppendEmpty()
	cs.Resource().Attributes().PutStr("service.name", "telemetrygen-client")
	cs.Resource().Attributes().PutStr("host.name", "bench")
	ss := server.ResourceSpans().AppendEmpty()
	ss.Resource().Attributes().PutStr("service.name", "telemetrygen-server")
	ss.Resource().Attributes().PutStr("host.name", "bench")
	cspans := cs.ScopeSpans().AppendEmpty().Spans()
	sspans := ss.ScopeSpans().AppendEmpty().Spans()
	start := pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0))
	for i := range n {
		var tid pcommon.TraceID
		var cid, sid pcommon.SpanID
		v := seed*uint64(n) + uint64(i) + 1
		for b := range 8 {
			tid[b] = byte(v >> (8 * b))
			cid[b] = byte(v >> (8 * b))
			sid[b] = byte(v >> (8 * b))
		}
		tid[15], cid[0], sid[0] = 0xAA, 0xC1, 0x51
		c := cspans.AppendEmpty()
		c.SetTraceID(tid)
		c.SetSpanID(cid)
		c.SetName("lets-go")
		c.SetKind(ptrace.SpanKindClient)
		c.SetStartTimestamp(start)
		c.SetEndTimestamp(start + 123_000)
		c.Attributes().PutStr("net.peer.ip", "1.2.3.4")
		c.Attributes().PutStr("peer.service", "telemetrygen-server")
		s := sspans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetParentSpanID(cid)
		s.SetName("okey-dokey-0")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(start + 1000)
		s.SetEndTimestamp(start + 100_000)
		s.Attributes().PutStr("net.peer.ip", "1.2.3.4")
		s.Attributes().PutStr("peer.service", "telemetrygen-client")
	}
	return client, server
}

func BenchmarkConsumeTraces(b *testing.B) {
	const tracesPerBatch = 100
	const spansPerBatch = 2 * tracesPerBatch
	for _, bc := range []struct {
		name  string
		spans int // per run
		run   func(g *Generator, client, server ptrace.Traces, i int)
	}{
		// Both halves in one call each: client batch then its server batch.
		{"pair", spansPerBatch, func(g *Generator, client, server ptrace.Traces, _ int) {
			g.ConsumeTraces(client)
			g.ConsumeTraces(server)
		}},
		// Server spans first: they wait for their parents.
		{"pair_reversed", spansPerBatch, func(g *Generator, client, server ptrace.Traces, _ int) {
			g.ConsumeTraces(server)
			g.ConsumeTraces(client)
		}},
		// Client spans whose callee sends nothing (a database, say): each waits, then expires
		// to a virtual node; the clock moves past Wait every batch.
		{"client_alone", tracesPerBatch, func(g *Generator, client, _ ptrace.Traces, _ int) {
			g.ConsumeTraces(client)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g, err := New(Config{Wait: time.Second, MaxPending: 100_000, FlushInterval: time.Minute}, discardAppendable{}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Unix(1_700_000_000, 0)
			g.now = func() time.Time { return now }
			batches := make([][2]ptrace.Traces, 64)
			for i := range batches {
				c, s := telemetrygenBatch(tracesPerBatch, uint64(i))
				batches[i] = [2]ptrace.Traces{c, s}
			}
			// Warm the maps and the pending slab.
			for i := range batches {
				bc.run(g, batches[i][0], batches[i][1], i)
				now = now.Add(2 * time.Second)
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				bt := batches[i%len(batches)]
				bc.run(g, bt[0], bt[1], i)
				now = now.Add(2 * time.Second)
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			spans := float64(b.N) * float64(bc.spans)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/spans, "allocs/span")
		})
	}

	b.Run("pair_parallel", func(b *testing.B) {
		g, err := New(Config{Wait: time.Second, MaxPending: 100_000, FlushInterval: time.Minute}, discardAppendable{}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		batches := make([][2]ptrace.Traces, 64)
		for i := range batches {
			c, s := telemetrygenBatch(tracesPerBatch, uint64(i))
			batches[i] = [2]ptrace.Traces{c, s}
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				bt := batches[i%len(batches)]
				g.ConsumeTraces(bt[0])
				g.ConsumeTraces(bt[1])
				i++
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*spansPerBatch), "ns/span")
	})
}

// BenchmarkFlush flushes 100,000 Prometheus series (5,883 label sets of 17 series each),
// to a discarding appender (the generator's own cost) and to a real TSDB head.
func BenchmarkFlush(b *testing.B) {
	const labelSets = (100_000 + 16) / 17
	build := func(b *testing.B, app storage.Appendable) *Generator {
		g, err := New(Config{Wait: time.Second, MaxPending: 100_000, FlushInterval: time.Minute}, app, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "checkout")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range labelSets {
			s := spans.AppendEmpty()
			s.SetKind(ptrace.SpanKindServer)
			s.SetName(fmt.Sprintf("GET /api/v1/items/%d", i))
			s.SetEndTimestamp(pcommon.Timestamp(i * 1000))
		}
		g.ConsumeTraces(td)
		if got := len(g.series) * samplesPerSeries(); got < 100_000 {
			b.Fatalf("%d series", got)
		}
		return g
	}
	run := func(b *testing.B, g *Generator) {
		t := time.Unix(1_700_000_000, 0)
		if err := g.Flush(t); err != nil { // builds the label sets
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			t = t.Add(15 * time.Second)
			if err := g.Flush(t); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(len(g.series)*samplesPerSeries())), "ns/series")
	}
	b.Run("discard", func(b *testing.B) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g := build(b, discardAppendable{})
		if err := g.Flush(time.Unix(1_600_000_000, 0)); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		run(b, g)
		// The generator's memory: series state, label sets, references, flush buffer.
		b.ReportMetric(heap/float64(len(g.series)*samplesPerSeries()), "heap-B/series")
		runtime.KeepAlive(g)
	})
	b.Run("tsdb", func(b *testing.B) {
		db, err := tsdb.Open(b.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		run(b, build(b, db))
	})
}
