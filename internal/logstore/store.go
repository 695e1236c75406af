package logstore

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/faultline/faultline/internal/pebbleopts"
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("log store closed")

// ErrReadOnly is returned by Write and the retention methods on a store opened read-only.
var ErrReadOnly = errors.New("log store opened read-only")

// Store is the embedded log store. It is safe for concurrent use.
type Store struct {
	cfg      Config
	dir      string
	readOnly bool
	logger   *slog.Logger
	db       *pebble.DB

	// life guards db against Close: every operation holds it for reading.
	life   sync.RWMutex
	closed bool

	seq     atomic.Uint32 // block sequence numbers, see blockRef
	catalog catalog
	writers sync.Pool // *writeState

	lastDiskBytes atomic.Int64 // reported once the store is closed

	recordsStored     prometheus.Counter
	writeDuration     prometheus.Histogram
	corruptBlocks     prometheus.Counter
	retentionDeleted  *prometheus.CounterVec
	retentionFailures prometheus.Counter
}

// Open opens (creating it if needed, unless readOnly) the log store in dir. Metrics are
// registered on reg, which may be nil.
func Open(cfg Config, dir string, readOnly bool, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("log store config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !readOnly {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create log store directory: %w", err)
		}
	}
	db, err := pebble.Open(dir, pebbleopts.Options("log store", readOnly, logger))
	if err != nil {
		return nil, fmt.Errorf("open log store %s: %w", dir, err)
	}
	s := &Store{cfg: cfg, dir: dir, readOnly: readOnly, logger: logger, db: db}
	s.seq.Store(rand.Uint32()) //nolint:gosec // a start for sequence numbers, not a secret
	s.writers.New = func() any { return newWriteState() }
	if err := s.catalog.load(db); err != nil {
		return nil, errors.Join(fmt.Errorf("load log store catalog: %w", err), db.Close())
	}

	f := promauto.With(reg)
	s.recordsStored = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_logs_stored_total",
		Help: "Log records written to the log store.",
	})
	s.writeDuration = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "faultline_logstore_write_duration_seconds",
		Help:    "Time to write and sync one batch of log records to the log store.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	s.corruptBlocks = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_logstore_corrupt_blocks_total",
		Help: "Stored log blocks that searches skipped because they could not be decoded.",
	})
	s.retentionDeleted = f.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_logstore_retention_deleted_records_total",
		Help: "Log records deleted by retention, by reason (age or size).",
	}, []string{"reason"})
	s.retentionDeleted.WithLabelValues(reasonAge)
	s.retentionDeleted.WithLabelValues(reasonSize)
	s.retentionFailures = f.NewCounter(prometheus.CounterOpts{
		Name: "faultline_logstore_retention_failures_total",
		Help: "Log retention passes that failed.",
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_logstore_disk_bytes",
		Help: "Bytes on disk used by the log store.",
	}, func() float64 { return float64(s.DiskBytes()) })

	logger.Info("log store opened", "dir", dir, "read_only", readOnly,
		"streams", s.catalog.len(), "disk_bytes", s.DiskBytes())
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
			flushErr = fmt.Errorf("flush log store: %w", err)
		}
	}
	if err := errors.Join(flushErr, s.db.Close()); err != nil {
		s.logger.Error("log store close failed", "dir", s.dir, "err", err)
		return fmt.Errorf("close log store: %w", err)
	}
	s.logger.Info("log store closed", "dir", s.dir)
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

// stream is one (service.name, host.name) pair of resource attributes.
type stream struct {
	service, host string
	svc           uint32 // service id: the id of the service's first stream
}

type streamKey struct{ service, host string }

// catalog caches the streams; each is persisted as a metadata row the first time a Write
// stores records of it, and loaded at Open.
type catalog struct {
	mu        sync.RWMutex
	ids       map[streamKey]uint32 // assigned (not necessarily persisted yet)
	svcs      map[string]uint32    // service name -> service id
	streams   []stream             // by id; ids without a row (a failed Write) stay empty
	persisted []bool
}

func (c *catalog) load(db *pebble.DB) error {
	c.ids = make(map[streamKey]uint32)
	c.svcs = make(map[string]uint32)
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixMeta, metaStream},
		UpperBound: []byte{prefixMeta, metaStream + 1},
	})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return errors.Join(err, it.Close())
		}
		service, host, id, svc, err := parseMetaStream(it.Key(), v)
		if err != nil || id == ^uint32(0) {
			continue // unknown metadata from a newer version; ignore it
		}
		for int(id) >= len(c.streams) {
			c.streams = append(c.streams, stream{})
			c.persisted = append(c.persisted, false)
		}
		c.streams[id] = stream{service: service, host: host, svc: svc}
		c.persisted[id] = true
		c.ids[streamKey{service, host}] = id
		c.svcs[service] = svc
	}
	return errors.Join(it.Error(), it.Close())
}

// stream returns the ids of a stream, assigning them if it is new; persist reports whether
// its metadata row still has to be written.
func (c *catalog) stream(service, host string) (id, svc uint32, persist bool) {
	k := streamKey{service, host}
	c.mu.RLock()
	id, ok := c.ids[k]
	if ok && c.persisted[id] {
		svc = c.streams[id].svc
		c.mu.RUnlock()
		return id, svc, false
	}
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok = c.ids[k]
	if !ok {
		k = streamKey{strings.Clone(service), strings.Clone(host)} // do not pin the caller's request
		id = uint32(len(c.streams))
		svc, known := c.svcs[k.service]
		if !known {
			svc = id
			c.svcs[k.service] = svc
		}
		c.ids[k] = id
		c.streams = append(c.streams, stream{service: k.service, host: k.host, svc: svc})
		c.persisted = append(c.persisted, false)
	}
	return id, c.streams[id].svc, !c.persisted[id]
}

// committed records that the metadata rows of ids are durable.
func (c *catalog) committed(ids []uint32) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		c.persisted[id] = true
	}
}

func (c *catalog) get(id uint32) stream {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.streams[id]
}

func (c *catalog) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.ids)
}

// snapshot returns the streams known now, by id. Entries are never changed once assigned,
// so the slice may be read without the lock.
func (c *catalog) snapshot() []stream {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.streams[:len(c.streams):len(c.streams)]
}

// serviceIDs returns every service id.
func (c *catalog) serviceIDs() []uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]uint32, 0, len(c.svcs))
	for _, id := range c.svcs {
		out = append(out, id)
	}
	return out
}

// service returns the id of a service name.
func (c *catalog) service(name string) (uint32, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.svcs[name]
	return id, ok
}
