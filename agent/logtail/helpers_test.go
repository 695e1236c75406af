package logtail

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is the default configuration with fast polling for tests.
func testConfig(t testing.TB, include ...string) Config {
	t.Helper()
	var c Config
	c.RegisterFlags(flag.NewFlagSet("test", flag.PanicOnError))
	c.Include = include
	c.PollInterval = 10 * time.Millisecond
	c.MultilineFlush = 100 * time.Millisecond
	c.RotateWait = 200 * time.Millisecond
	return c
}

// sink collects what the tailer emits; fail, when set, can refuse a call (by its number,
// counted from 1).
type sink struct {
	mu       sync.Mutex
	records  []Record
	calls    int
	maxBatch int
	fail     func(call int, b Batch) error
	notify   chan struct{}
}

func newSink() *sink { return &sink{notify: make(chan struct{}, 1)} }

func (s *sink) emit(_ context.Context, b Batch) error {
	s.mu.Lock()
	s.calls++
	if s.fail != nil {
		if err := s.fail(s.calls, b); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.records = append(s.records, b.Records...)
	s.maxBatch = max(s.maxBatch, len(b.Records))
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (s *sink) snapshot() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// wait blocks until cond holds for the records accepted so far, woken by each batch.
func (s *sink) wait(t *testing.T, what string, cond func([]Record) bool) []Record {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		recs := s.snapshot()
		if cond(recs) {
			return recs
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; %d records, last ones %q", what, len(recs), bodies(recs[max(0, len(recs)-5):]))
		}
	}
}

func (s *sink) waitN(t *testing.T, n int) []Record {
	t.Helper()
	return s.wait(t, fmt.Sprintf("%d records", n), func(r []Record) bool { return len(r) >= n })
}

func bodies(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Body
	}
	return out
}

// logBuffer collects the tailer's log output for assertions and echoes it to the test log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	t   *testing.T
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return l.buf.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

// running is a Tailer running in its own goroutine until stop.
type running struct {
	*Tailer
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func start(t *testing.T, cfg Config, stateDir string, emit func(context.Context, Batch) error) *running {
	t.Helper()
	return startCtx(context.Background(), t, cfg, stateDir, emit)
}

func startCtx(parent context.Context, t *testing.T, cfg Config, stateDir string, emit func(context.Context, Batch) error) *running {
	t.Helper()
	logs := &logBuffer{t: t}
	tl, err := New(cfg, stateDir, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), prometheus.NewRegistry())
	require.NoError(t, err)
	tl.retryMin, tl.retryMax = time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithCancel(parent)
	r := &running{Tailer: tl, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- tl.Run(ctx, emit) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	require.NoError(t, r.err)
}

func value(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// createLog opens path for appending as a logger does, creating it.
func createLog(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// appendString appends s to f.
func appendString(t *testing.T, f *os.File, s string) {
	t.Helper()
	_, err := f.WriteString(s)
	require.NoError(t, err)
}

// eventually waits for a condition the tailer's metrics show; no batch wakes it.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 2*time.Millisecond, what)
}

func numbered(i int) string { return fmt.Sprintf("line %06d", i) }

// writeLines appends numbered lines [from, to), one write per line.
func writeLines(t *testing.T, f *os.File, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := f.WriteString(numbered(i) + "\n")
		require.NoError(t, err)
	}
}

// requireSequence checks that recs are exactly the numbered lines [from, to), in order.
func requireSequence(t *testing.T, recs []Record, from, to int) {
	t.Helper()
	require.Len(t, recs, to-from, "records %q...", bodies(recs[:min(len(recs), 3)]))
	for i, r := range recs {
		require.Equal(t, numbered(from+i), r.Body, "record %d", i)
	}
}

// requireEachOnce checks that recs are the numbered lines [from, to), each exactly once, in
// any order.
func requireEachOnce(t *testing.T, recs []Record, from, to int) {
	t.Helper()
	seen := make(map[int]int, to-from)
	for _, r := range recs {
		n, err := strconv.Atoi(strings.TrimPrefix(r.Body, "line "))
		require.NoError(t, err, "body %q", r.Body)
		seen[n]++
	}
	for i := from; i < to; i++ {
		require.Equal(t, 1, seen[i], "line %d", i)
	}
	require.Len(t, recs, to-from)
}

func readCheckpoint(t *testing.T, stateDir string) []position {
	t.Helper()
	ps, found, err := loadCheckpoint(stateDir + "/" + checkpointName)
	require.NoError(t, err)
	require.True(t, found)
	return ps
}
