package collector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/faultline/faultline/internal/spanstore"
)

var (
	// ErrQueueFull means the store is behind: the client should back off and retry.
	ErrQueueFull = errors.New("ingest queue is full")
	// ErrClosed means the queue is shutting down and takes nothing more.
	ErrClosed = errors.New("ingest queue is closed")
)

// queue is the bounded hand-off between receivers and the span store. A request waits in
// Enqueue until its spans are durable, so the client's acknowledgement means "stored";
// writers take everything queued at once and store it in one synced batch (group commit),
// which is what keeps fsync-per-request from limiting throughput.
type queue struct {
	cfg    QueueConfig
	store  spanstore.Writer
	logger *slog.Logger

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool
	items  chan *writeRequest
	spans  atomic.Int64 // spans enqueued and not yet stored
	wg     sync.WaitGroup
}

type writeRequest struct {
	td    ptrace.Traces
	spans int
	done  chan error
}

func newQueue(cfg QueueConfig, store spanstore.Writer, logger *slog.Logger) *queue {
	// The channel only needs room for the most requests MaxSpans can admit; spans are the bound.
	return &queue{cfg: cfg, store: store, logger: logger, items: make(chan *writeRequest, min(cfg.MaxSpans, 65536))}
}

func (q *queue) start() {
	for range q.cfg.Writers {
		q.wg.Add(1)
		go q.write()
	}
}

// enqueue hands td to the writers and waits until it is stored. It fails fast with
// ErrQueueFull instead of blocking when the queue holds MaxSpans already; a request larger
// than the whole queue is still admitted into an empty queue so it cannot starve.
func (q *queue) enqueue(ctx context.Context, td ptrace.Traces, n int) error {
	for {
		cur := q.spans.Load()
		if cur > 0 && cur+int64(n) > int64(q.cfg.MaxSpans) {
			return ErrQueueFull
		}
		if q.spans.CompareAndSwap(cur, cur+int64(n)) {
			break
		}
	}
	req := &writeRequest{td: td, spans: n, done: make(chan error, 1)}
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		q.spans.Add(-int64(n))
		return ErrClosed
	}
	select {
	case q.items <- req:
	default:
		q.mu.RUnlock()
		q.spans.Add(-int64(n))
		return ErrQueueFull
	}
	q.mu.RUnlock()

	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The spans are queued and will be stored; the client gave up waiting and will retry,
		// which may store them twice. Losing them is worse than a duplicate.
		return ctx.Err()
	}
}

func (q *queue) write() {
	defer q.wg.Done()
	batch := make([]*writeRequest, 0, 64)
	tds := make([]ptrace.Traces, 0, 64)
	for first := range q.items {
		batch, tds = append(batch[:0], first), append(tds[:0], first.td)
		spans := first.spans
	more:
		for spans < q.cfg.MaxBatchSpans {
			select {
			case req, ok := <-q.items:
				if !ok {
					break more
				}
				batch, tds = append(batch, req), append(tds, req.td)
				spans += req.spans
			default:
				break more
			}
		}
		err := q.store.Write(context.Background(), tds...)
		if err != nil {
			q.logger.Error("store spans", "err", err, "spans", spans)
		}
		q.spans.Add(-int64(spans))
		for _, req := range batch {
			req.done <- err
		}
		clear(tds)
	}
}

// close stops taking requests and returns once everything queued is stored.
func (q *queue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.items)
	}
	q.mu.Unlock()
	q.wg.Wait()
}

func (q *queue) depth() (requests, spans int) { return len(q.items), int(q.spans.Load()) }
