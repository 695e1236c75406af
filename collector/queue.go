package collector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
)

var (
	// ErrQueueFull means the store is behind: the client should back off and retry.
	ErrQueueFull = errors.New("ingest queue is full")
	// ErrClosed means the queue is shutting down and takes nothing more.
	ErrClosed = errors.New("ingest queue is closed")
)

// queue is the bounded hand-off between receivers and a store (spans or log records: T is one
// request's data). A request waits in enqueue until its items are durable, so the client's
// acknowledgement means "stored"; writers take everything queued at once and store it in one
// synced batch (group commit), which is what keeps fsync-per-request from limiting throughput.
type queue[T any] struct {
	cfg    queueSize
	store  func(context.Context, ...T) error
	what   string // "spans" or "log records", for log lines
	logger *slog.Logger

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool
	items  chan *writeRequest[T]
	queued atomic.Int64 // items enqueued and not yet stored
	wg     sync.WaitGroup
}

// queueSize is a queue's bound in items, its writer count and the most items one write takes.
type queueSize struct {
	MaxItems, Writers, MaxBatchItems int
}

type writeRequest[T any] struct {
	data  T
	items int
	done  chan error
}

func newQueue[T any](cfg queueSize, store func(context.Context, ...T) error, what string, logger *slog.Logger) *queue[T] {
	// The channel only needs room for the most requests MaxItems can admit; items are the bound.
	return &queue[T]{cfg: cfg, store: store, what: what, logger: logger, items: make(chan *writeRequest[T], min(cfg.MaxItems, 65536))}
}

func (q *queue[T]) start() {
	for range q.cfg.Writers {
		q.wg.Add(1)
		go q.write()
	}
}

// enqueue hands data (n items) to the writers and waits until it is stored. It fails fast
// with ErrQueueFull instead of blocking when the queue holds MaxItems already; a request
// larger than the whole queue is still admitted into an empty queue so it cannot starve.
func (q *queue[T]) enqueue(ctx context.Context, data T, n int) error {
	for {
		cur := q.queued.Load()
		if cur > 0 && cur+int64(n) > int64(q.cfg.MaxItems) {
			return ErrQueueFull
		}
		if q.queued.CompareAndSwap(cur, cur+int64(n)) {
			break
		}
	}
	req := &writeRequest[T]{data: data, items: n, done: make(chan error, 1)}
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		q.queued.Add(-int64(n))
		return ErrClosed
	}
	select {
	case q.items <- req:
	default:
		q.mu.RUnlock()
		q.queued.Add(-int64(n))
		return ErrQueueFull
	}
	q.mu.RUnlock()

	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The items are queued and will be stored; the client gave up waiting and will retry,
		// which may store them twice. Losing them is worse than a duplicate.
		return ctx.Err()
	}
}

func (q *queue[T]) write() {
	defer q.wg.Done()
	batch := make([]*writeRequest[T], 0, 64)
	data := make([]T, 0, 64)
	for first := range q.items {
		batch, data = append(batch[:0], first), append(data[:0], first.data)
		items := first.items
	more:
		for items < q.cfg.MaxBatchItems {
			select {
			case req, ok := <-q.items:
				if !ok {
					break more
				}
				batch, data = append(batch, req), append(data, req.data)
				items += req.items
			default:
				break more
			}
		}
		err := q.store(context.Background(), data...)
		if err != nil {
			q.logger.Error("store "+q.what, "err", err, q.what, items)
		}
		q.queued.Add(-int64(items))
		for _, req := range batch {
			req.done <- err
		}
		clear(data)
	}
}

// close stops taking requests and returns once everything queued is stored.
func (q *queue[T]) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.items)
	}
	q.mu.Unlock()
	q.wg.Wait()
}

func (q *queue[T]) depth() (requests, items int) { return len(q.items), int(q.queued.Load()) }
