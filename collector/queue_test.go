package collector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gatedWriter stands in for the span store to produce faults a real disk will not on
// demand: a write that stalls until released, and a write that fails.
type gatedWriter struct {
	mu      sync.Mutex
	gate    chan struct{}
	err     error
	calls   [][]ptrace.Traces
	started chan struct{}
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{gate: make(chan struct{}), started: make(chan struct{}, 100)}
}

func (g *gatedWriter) Write(_ context.Context, batches ...ptrace.Traces) error {
	g.started <- struct{}{}
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, append([]ptrace.Traces(nil), batches...))
	return g.err
}

func spansOf(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range n {
		spans.AppendEmpty()
	}
	return td
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestQueueAcknowledgesOnlyAfterWrite(t *testing.T) {
	w := newGatedWriter()
	q := newQueue(queueSize{MaxItems: 100, Writers: 1, MaxBatchItems: 1000}, w.Write, "spans", discard())
	q.start()
	defer q.close()

	done := make(chan error, 1)
	go func() { done <- q.enqueue(context.Background(), spansOf(5), 5) }()
	<-w.started
	select {
	case err := <-done:
		t.Fatalf("acknowledged before the write finished: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(w.gate)
	require.NoError(t, <-done)
	_, spans := q.depth()
	require.Zero(t, spans)
}

func TestQueueFullFailsFastAndGroupsWrites(t *testing.T) {
	w := newGatedWriter()
	q := newQueue(queueSize{MaxItems: 10, Writers: 1, MaxBatchItems: 1000}, w.Write, "spans", discard())
	q.start()

	results := make(chan error, 3)
	go func() { results <- q.enqueue(context.Background(), spansOf(4), 4) }()
	<-w.started // the writer holds the first request; the queue still counts its 4 spans
	for range 2 {
		go func() { results <- q.enqueue(context.Background(), spansOf(3), 3) }()
	}
	require.Eventually(t, func() bool { _, s := q.depth(); return s == 10 }, time.Second, time.Millisecond)

	start := time.Now()
	err := q.enqueue(context.Background(), spansOf(1), 1)
	require.ErrorIs(t, err, ErrQueueFull)
	require.Less(t, time.Since(start), 100*time.Millisecond, "a full queue must not block the client")

	close(w.gate)
	for range 3 {
		require.NoError(t, <-results)
	}
	q.close()
	require.Len(t, w.calls, 2, "the two requests queued behind the first are stored in one write")
	require.Len(t, w.calls[1], 2)
}

func TestQueueLargeRequestAdmittedWhenEmpty(t *testing.T) {
	w := newGatedWriter()
	close(w.gate)
	q := newQueue(queueSize{MaxItems: 10, Writers: 1, MaxBatchItems: 1000}, w.Write, "spans", discard())
	q.start()
	defer q.close()
	require.NoError(t, q.enqueue(context.Background(), spansOf(50), 50))
}

func TestQueueStoreErrorReachesEveryClientInTheBatch(t *testing.T) {
	w := newGatedWriter()
	w.err = errors.New("disk full")
	close(w.gate)
	q := newQueue(queueSize{MaxItems: 100, Writers: 2, MaxBatchItems: 1000}, w.Write, "spans", discard())
	q.start()
	defer q.close()
	for range 5 {
		require.ErrorContains(t, q.enqueue(context.Background(), spansOf(1), 1), "disk full")
	}
	_, spans := q.depth()
	require.Zero(t, spans, "failed writes release their room in the queue")
}

func TestQueueCloseDrainsAndRefusesNewWork(t *testing.T) {
	w := newGatedWriter()
	q := newQueue(queueSize{MaxItems: 100, Writers: 1, MaxBatchItems: 1000}, w.Write, "spans", discard())
	q.start()
	results := make(chan error, 3)
	for range 3 {
		go func() { results <- q.enqueue(context.Background(), spansOf(2), 2) }()
	}
	<-w.started
	require.Eventually(t, func() bool { _, s := q.depth(); return s == 6 }, time.Second, time.Millisecond)
	closed := make(chan struct{})
	go func() { q.close(); close(closed) }()
	require.Eventually(t, func() bool { q.mu.RLock(); defer q.mu.RUnlock(); return q.closed }, time.Second, time.Millisecond)
	require.ErrorIs(t, q.enqueue(context.Background(), spansOf(1), 1), ErrClosed)
	close(w.gate)
	<-closed
	for range 3 {
		require.NoError(t, <-results, "requests queued before close are stored")
	}
	total := 0
	for _, c := range w.calls {
		for _, td := range c {
			total += td.SpanCount()
		}
	}
	require.Equal(t, 6, total)
}

func TestQueueClientGivingUpDoesNotLoseSpans(t *testing.T) {
	w := newGatedWriter()
	q := newQueue(queueSize{MaxItems: 100, Writers: 1, MaxBatchItems: 1000}, w.Write, "spans", discard())
	q.start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.enqueue(ctx, spansOf(3), 3) }()
	<-w.started
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	close(w.gate)
	q.close()
	require.Len(t, w.calls, 1)
	require.Equal(t, 3, w.calls[0][0].SpanCount())
}
