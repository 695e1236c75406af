//go:build linux

package hostmetrics

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkScrape is one scrape of every collector, the agent's main cost every interval.
// cpu-ms/op is the CPU time (user and system, all threads, from getrusage) per scrape: at
// a 10 s interval, 1 ms/op is 0.01% of a core.
func BenchmarkScrape(b *testing.B) {
	benchmarkScrape(b)
}

func BenchmarkCollector(b *testing.B) {
	for _, name := range collectorNames() {
		b.Run(name, func(b *testing.B) { benchmarkScrape(b, only(name)) })
	}
}

func benchmarkScrape(b *testing.B, modify ...func(*Config)) {
	s := newTestScraper(b, modify...)
	ctx := context.Background()
	s.Scrape(ctx) // the first scrape sizes buffers and has no previous reading
	before := rusageCPU(b)
	points := 0
	b.ReportAllocs()
	for b.Loop() {
		points = s.Scrape(ctx).DataPointCount()
	}
	cpu := rusageCPU(b) - before
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(points), "points")
}

func rusageCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
