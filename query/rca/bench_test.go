package rca

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/metricstore"
	"github.com/faultline/faultline/internal/spanstore"
)

// fleet is 40 services: a frontend routing each request to one of 6 APIs, each API calling
// 2 of its 5 or 6 workers, each worker calling one of three dependencies.
func fleet() topology {
	deps := []string{"postgres", "redis", "partner"}
	nodes := map[string]node{
		"postgres": dependency(metricstore.KindDatabase, "SELECT jobs", 3*time.Millisecond),
		"redis":    dependency(metricstore.KindCache, "GET", time.Millisecond),
		"partner":  dependency(metricstore.KindExternal, "POST /v2/quote", 40*time.Millisecond),
	}
	apis := make([][]call, 6)
	for i := range 33 {
		worker := fmt.Sprintf("worker-%02d", i)
		nodes[worker] = service("POST /"+worker, 5*time.Millisecond, call{to: deps[i%len(deps)], timeout: time.Second})
		apis[i%6] = append(apis[i%6], call{to: worker, timeout: 2 * time.Second})
	}
	var routes []call
	for i, workers := range apis {
		api := fmt.Sprintf("api-%d", i)
		n := service("GET /"+api, 4*time.Millisecond, workers...)
		n.pick = 2
		nodes[api] = n
		routes = append(routes, call{to: api, timeout: 5 * time.Second})
	}
	frontend := service("GET /", 2*time.Millisecond, routes...)
	frontend.pick = 1
	nodes["frontend"] = frontend
	return topology{entry: "frontend", nodes: nodes}
}

const (
	benchRate   = 1000 // traces per second
	benchPeriod = 15 * time.Minute
)

// The benchmark's world is built once per process (it takes minutes) and closed by TestMain.
var bench struct {
	once  sync.Once
	dir   string
	world *world
	err   error
}

func closeBenchWorld() error {
	if bench.world == nil {
		return nil
	}
	return errors.Join(bench.world.close(), os.RemoveAll(bench.dir))
}

// benchWorld runs the fleet for 15 minutes at 1,000 traces a second (900k traces, 8.1M
// spans) through the span store and the service-graph generator; worker-07 fails 30% of its
// requests and takes 200 ms more for the last 5 minutes.
func benchWorld(b *testing.B) *world {
	bench.once.Do(func() {
		began := time.Now()
		bench.dir, bench.err = os.MkdirTemp("", "rca-bench-")
		if bench.err != nil {
			return
		}
		f := during("worker-07", benchPeriod-5*time.Minute, 0, effect{errRate: 0.3, latency: 200 * time.Millisecond})
		bench.world, bench.err = openWorld(b, bench.dir, fleet(), benchRate*int(worldStep/time.Second), f)
		if bench.err != nil {
			return
		}
		bench.world.runUntil(benchPeriod)
		// Measure a quiescent store: closing waits for Pebble's compactions, and a read-only
		// store starts none.
		if bench.err = bench.world.spans.Close(); bench.err != nil {
			return
		}
		var cfg spanstore.Config
		cfg.RegisterFlags(flag.NewFlagSet("bench", flag.ContinueOnError))
		if bench.world.spans, bench.err = spanstore.Open(cfg, filepath.Join(bench.dir, "spans"), true, nil, nil); bench.err != nil {
			return
		}
		b.Logf("setup: %d traces, %d spans in %s (span store %d MiB)", benchRate*int(benchPeriod/time.Second),
			bench.world.lastID, time.Since(began).Round(time.Second), bench.world.spans.DiskBytes()>>20)
	})
	require.NoError(b, bench.err)
	return bench.world
}

// BenchmarkAnalyze40Services times one analysis of benchWorld: of its 15 minutes (the goal is
// under 2 s), and of its last 5 (what the incident tracker analyses every 15 s). The default
// 1 h baseline reaches back before the world began.
func BenchmarkAnalyze40Services(b *testing.B) {
	for _, window := range []time.Duration{benchPeriod, 5 * time.Minute} {
		b.Run("window="+strings.TrimSuffix(window.String(), "0s"), func(b *testing.B) {
			w := benchWorld(b)
			e := w.engine(defaultConfig())
			ctx := context.Background()
			start, end := at(benchPeriod-window), at(benchPeriod)
			res, err := e.Analyze(ctx, start, end)
			require.NoError(b, err)
			require.NotEmpty(b, res.RootCauses)
			b.Logf("first root cause %s (%s, %.2f), %.0f traces read per analysis", res.RootCauses[0].Service,
				res.RootCauses[0].Kind, res.RootCauses[0].Score, testutil.ToFloat64(e.tracesRead))

			runtime.GC()
			peak := watchHeap()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Analyze(ctx, start, end); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
		})
	}
}

// watchHeap samples the live heap every millisecond until the returned function is called,
// which returns its growth at the peak over the heap when watching began.
func watchHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
				if h := read(); h > base {
					peak = max(peak, h-base)
				}
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}
