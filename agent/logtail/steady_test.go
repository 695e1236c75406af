//go:build unix

package logtail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkSteadyState runs the tailer as the agent does (default settings, 250ms polls, a
// checkpoint written after every batch) while 1,000 JSON lines a second are written, for one
// second per op. It reports the process's CPU time per second as cpu-%, and tailer-cpu-%:
// that minus the same measured while the lines go to a file the tailer does not watch (the
// writer, the Go runtime and the idle tailer; on a VM, scheduler-tick accounting inflates
// both).
func BenchmarkSteadyState(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(b, path)
	cfg.PollInterval = 250 * time.Millisecond
	cfg.MultilineFlush = time.Second
	tl, err := New(cfg, b.TempDir(), nil, nil)
	require.NoError(b, err)
	var emitted atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tl.Run(ctx, func(_ context.Context, batch Batch) error {
			emitted.Add(int64(len(batch.Records)))
			return nil
		})
	}()

	// The lines are made beforehand so that the writer costs only its writes.
	chunks := make([][]byte, b.N*10)
	n := 0
	for i := range chunks {
		var chunk bytes.Buffer
		for range 100 {
			chunk.WriteString(benchLines[1].line(n))
			chunk.WriteByte('\n')
			n++
		}
		chunks[i] = chunk.Bytes()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	measure := func(name string) float64 {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		require.NoError(b, err)
		defer f.Close()
		cpuStart, wallStart := cpuTime(b), time.Now()
		for _, chunk := range chunks {
			<-tick.C
			_, err := f.Write(chunk)
			require.NoError(b, err)
		}
		return 100 * (cpuTime(b) - cpuStart).Seconds() / time.Since(wallStart).Seconds()
	}
	baseline := measure("unwatched.txt")
	b.ResetTimer()
	withTailer := measure("app.log")
	for emitted.Load() < int64(n) {
		<-tick.C
	}
	cancel()
	require.NoError(b, <-done)
	require.Equal(b, int64(n), emitted.Load())
	b.ReportMetric(withTailer, "cpu-%")
	b.ReportMetric(withTailer-baseline, "tailer-cpu-%")
	b.ReportMetric(0, "ns/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
