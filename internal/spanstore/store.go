package spanstore

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/faultline/faultline/internal/pebbleopts"
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("span store closed")

// ErrReadOnly is returned by Write and EnforceRetention on a store opened read-only.
var ErrReadOnly = errors.New("span store opened read-only")

// Store is the embedded span store. It implements Reader and Writer and is safe for
// concurrent use.
type Store struct {
	cfg      Config
	dir      string
	readOnly bool
	logger   *slog.Logger
	db       *pebble.DB

	// life guards db against Close: every operation holds it for reading.
	life   sync.RWMutex
	closed bool

	seq     atomic.Uint32 // chunk sequence numbers, see chunkRef
	catalog catalog
	writers sync.Pool // *writeState

	lastDiskBytes atomic.Int64 // reported once the store is closed

	spansStored       prometheus.Counter
	invalidSpans      prometheus.Counter
	writeDuration     prometheus.Histogram
	retentionDeleted  *prometheus.CounterVec
	retentionFailures prometheus.Counter
}

var (
	_ Reader = (*Store)(nil)
	_ Writer = (*Store)(nil)
)

// Open opens (creating it if needed, unless readOnly) the span store in dir. Metrics are
// registered on reg, which may be nil.
func Open(cfg Config, dir string, readOnly bool, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("span store config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !readOnly {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create span store directory: %w", err)
		}
	}
	db, err := pebble.Open(dir, pebbleopts.Options("span store", readOnly, logger))
	if err != nil {
		return nil, fmt.Errorf("open span store %s: %w", dir, err)
	}
	s := &Store{cfg: cfg, dir: dir, readOnly: readOnly, logger: logger, db: db}
	s.seq.Store(rand.Uint32()) //nolint:gosec // a start for sequence numbers, not a secret
	s.writers.New = func() any { return newWriteState() }
	if err := s.catalog.load(db); err != nil {
		return nil, errors.Join(fmt.Errorf("load span store catalog: %w", err), db.Close())
	}

	f := promauto.With(reg)
	s.spansStored = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_spans_stored_total",
		Help: "Spans written to the span store.",
	})
	s.invalidSpans = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_spanstore_invalid_spans_total",
		Help: "Spans not stored because they have no trace ID.",
	})
	s.writeDuration = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "faultline_spanstore_write_duration_seconds",
		Help:    "Time to write and sync one batch of spans to the span store.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	s.retentionDeleted = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_spanstore_retention_deleted_traces_total",
		Help: "Traces deleted by retention, by reason (age or size).",
	}, []string{"reason"})
	s.retentionDeleted.WithLabelValues(reasonAge)
	s.retentionDeleted.WithLabelValues(reasonSize)
	s.retentionFailures = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_spanstore_retention_failures_total",
		Help: "Retention passes that failed.",
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_spanstore_disk_bytes",
		Help: "Bytes on disk used by the span store.",
	}, func() float64 { return float64(s.DiskBytes()) })

	logger.Info("span store opened", "dir", dir, "read_only", readOnly,
		"services", len(s.catalog.names), "disk_bytes", s.DiskBytes())
	return s, nil
}

// acquire holds the store open for an operation; release with s.life.RUnlock.
func (s *Store) acquire() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}

// Close flushes the memtable and closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.lastDiskBytes.Store(int64(s.db.Metrics().DiskSpaceUsage()))
	s.closed = true
	var flushErr error
	if !s.readOnly {
		if err := s.db.Flush(); err != nil {
			flushErr = fmt.Errorf("flush span store: %w", err)
		}
	}
	err := errors.Join(flushErr, s.db.Close())
	if err != nil {
		s.logger.Error("span store close failed", "dir", s.dir, "err", err)
		return fmt.Errorf("close span store: %w", err)
	}
	s.logger.Info("span store closed", "dir", s.dir)
	return nil
}

// DiskBytes returns the bytes the store uses on disk (live and not yet deleted obsolete files,
// the write-ahead log included).
func (s *Store) DiskBytes() int64 {
	if err := s.acquire(); err != nil {
		if n := pebbleopts.DirBytes(s.dir); n > 0 {
			return n
		}
		return s.lastDiskBytes.Load()
	}
	defer s.life.RUnlock()
	return int64(s.db.Metrics().DiskSpaceUsage())
}

// catalog caches the service names and operations; they are persisted as small metadata rows
// the first time they are written and loaded at Open.
type catalog struct {
	mu        sync.RWMutex
	ids       map[string]uint32 // service name -> id, assigned (not necessarily persisted yet)
	names     []string          // id -> service name
	persisted []bool            // id -> metadata row committed
	ops       map[opKey]bool    // operation -> metadata row committed
	opsBySvc  map[uint32][]Operation
}

type opKey struct {
	svc  uint32
	kind ptrace.SpanKind
	name string
}

func (c *catalog) load(db *pebble.DB) error {
	c.ids = make(map[string]uint32)
	c.ops = make(map[opKey]bool)
	c.opsBySvc = make(map[uint32][]Operation)
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixMeta},
		UpperBound: []byte{prefixMeta + 1},
	})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return errors.Join(err, it.Close())
		}
		isSvc, id, kind, name, err := parseMetaKey(it.Key(), v)
		if err != nil {
			continue // unknown metadata from a newer version; ignore it
		}
		if isSvc {
			c.ids[name] = id
			for int(id) >= len(c.names) {
				c.names = append(c.names, "")
				c.persisted = append(c.persisted, false)
			}
			c.names[id] = name
			c.persisted[id] = true
			continue
		}
		k := opKey{svc: id, kind: kind, name: name}
		c.ops[k] = true
		c.opsBySvc[id] = append(c.opsBySvc[id], Operation{Name: name, SpanKind: kind})
	}
	return errors.Join(it.Error(), it.Close())
}

// service returns the id of a service, assigning one if it is new; persist reports whether
// its metadata row still has to be written.
func (c *catalog) service(name string) (id uint32, persist bool) {
	c.mu.RLock()
	id, ok := c.ids[name]
	if ok && c.persisted[id] {
		c.mu.RUnlock()
		return id, false
	}
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok = c.ids[name]
	if !ok {
		name = strings.Clone(name) // do not pin the caller's request buffer
		id = uint32(len(c.names))
		c.ids[name] = id
		c.names = append(c.names, name)
		c.persisted = append(c.persisted, false)
	}
	return id, !c.persisted[id]
}

// unpersistedOps appends to dst the operations of ops that have no metadata row yet.
func (c *catalog) unpersistedOps(dst []opKey, ops map[opKey]struct{}) []opKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for k := range ops {
		if !c.ops[k] {
			dst = append(dst, k)
		}
	}
	return dst
}

// committed records that the metadata rows of svcs and ops are durable.
func (c *catalog) committed(svcs []uint32, ops []opKey) {
	if len(svcs) == 0 && len(ops) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range svcs {
		c.persisted[id] = true
	}
	for _, k := range ops {
		if !c.ops[k] {
			k.name = strings.Clone(k.name)
			c.ops[k] = true
			c.opsBySvc[k.svc] = append(c.opsBySvc[k.svc], Operation{Name: k.name, SpanKind: k.kind})
		}
	}
}

func (c *catalog) lookup(name string) (uint32, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.ids[name]
	return id, ok && c.persisted[id]
}

func (c *catalog) services() []string {
	c.mu.RLock()
	out := make([]string, 0, len(c.names))
	for id, name := range c.names {
		if c.persisted[id] {
			out = append(out, name)
		}
	}
	c.mu.RUnlock()
	slices.Sort(out)
	return out
}

func (c *catalog) serviceIDs() []uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]uint32, len(c.names))
	for i := range out {
		out[i] = uint32(i)
	}
	return out
}

func (c *catalog) operations(name string) []Operation {
	c.mu.RLock()
	id, ok := c.ids[name]
	var out []Operation
	if ok {
		out = slices.Clone(c.opsBySvc[id])
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b Operation) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return int(a.SpanKind) - int(b.SpanKind)
	})
	return out
}
