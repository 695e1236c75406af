package metricstore

import (
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote/otlptranslator/prometheusremotewrite"
	"github.com/prometheus/prometheus/tsdb"
)

// Store is the embedded Prometheus TSDB under one directory, with one PromQL engine over it.
type Store struct {
	cfg    Config
	dir    string
	logger *slog.Logger
	db     *tsdb.DB
	engine *promql.Engine
	reg    *trackingRegisterer

	// converters are reused across WriteOTLP calls, as Prometheus's own OTLP handler does.
	converters   sync.Pool
	otlpSettings prometheusremotewrite.Settings

	pointsReceived prometheus.Counter
	pointsStored   prometheus.Counter
	pointsRefused  *prometheus.CounterVec

	closeOnce sync.Once
	closeErr  error
}

// Open opens (or creates) the TSDB in dir, replaying its write-ahead log, and builds the PromQL
// engine. TSDB, engine and store metrics are registered on reg (which may be nil) and
// unregistered by Close, so a store can be closed and opened again on the same registry.
func Open(cfg Config, dir string, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("metric store config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, dir: dir, logger: logger, reg: &trackingRegisterer{reg: reg}}
	s.otlpSettings = translatorSettings(cfg)
	s.converters.New = func() any { return prometheusremotewrite.NewPrometheusConverter(nil) }

	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = cfg.Retention.Milliseconds()
	opts.MaxBytes = cfg.MaxDiskBytes
	opts.OutOfOrderTimeWindow = OutOfOrderWindow.Milliseconds()
	opts.EnableExemplarStorage = true
	opts.MaxExemplars = maxExemplars
	// Native histograms (OTLP exponential histograms, NHCB) are always on in this TSDB version;
	// there is no switch left to flip.

	var tsdbReg prometheus.Registerer
	if reg != nil {
		tsdbReg = s.reg
	}
	db, err := tsdb.Open(dir, logger.With("component", "tsdb"), tsdbReg, opts, nil)
	if err != nil {
		s.reg.unregisterAll()
		return nil, fmt.Errorf("open metrics tsdb in %s: %w", dir, err)
	}
	s.db = db

	s.engine = promql.NewEngine(promql.EngineOpts{
		Logger:               logger.With("component", "promql"),
		Reg:                  tsdbReg,
		MaxSamples:           cfg.MaxSamples,
		Timeout:              cfg.QueryTimeout,
		LookbackDelta:        cfg.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})

	s.pointsReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "faultline_metric_points_received_total",
		Help: "OTLP metric data points received by the metric store.",
	})
	s.pointsStored = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "faultline_metric_points_stored_total",
		Help: "OTLP metric data points stored in the TSDB.",
	})
	s.pointsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_metric_points_refused_total",
		Help: "OTLP metric data points not stored, by reason.",
	}, []string{"reason"})
	for _, r := range refusalReasons {
		s.pointsRefused.WithLabelValues(r)
	}
	diskBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_metricstore_disk_bytes",
		Help: "Bytes used by the metrics TSDB directory (blocks, WAL, head chunks).",
	}, func() float64 { return float64(dirSize(dir)) })
	if reg != nil {
		for _, c := range []prometheus.Collector{s.pointsReceived, s.pointsStored, s.pointsRefused, diskBytes} {
			if err := s.reg.Register(c); err != nil {
				_ = s.Close()
				return nil, fmt.Errorf("register metric store metrics: %w", err)
			}
		}
	}
	logger.Info("metric store opened", "dir", dir, "retention", cfg.Retention, "max_disk_bytes", cfg.MaxDiskBytes,
		"out_of_order_window", OutOfOrderWindow)
	return s, nil
}

// Appendable is where samples are written (the service-graph generator, the rules manager).
func (s *Store) Appendable() storage.Appendable { return s.db }

// AppendableV2 is the newer append interface (start timestamps, metadata in one call) that
// Prometheus is migrating to; WriteOTLP uses it.
func (s *Store) AppendableV2() storage.AppendableV2 { return s.db }

// Queryable serves PromQL, the rules manager and Prometheus's web/api/v1.
func (s *Store) Queryable() storage.SampleAndChunkQueryable { return s.db }

// Engine is the one PromQL engine, configured from Config.
func (s *Store) Engine() *promql.Engine { return s.engine }

// DB is the TSDB itself, for web/api/v1's TSDBAdminStats.
func (s *Store) DB() *tsdb.DB { return s.db }

// Dir is the TSDB's directory.
func (s *Store) Dir() string { return s.dir }

// Close closes the engine and the TSDB (flushing the WAL) and unregisters the store's metrics.
// It is safe to call more than once. Stop writers (OTLP receivers, rules) before closing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.engine != nil {
			s.closeErr = s.engine.Close()
		}
		if s.db != nil {
			if err := s.db.Close(); err != nil {
				s.closeErr = fmt.Errorf("close metrics tsdb: %w", err)
			}
		}
		s.reg.unregisterAll()
		s.logger.Info("metric store closed", "dir", s.dir)
	})
	return s.closeErr
}

// dirSize sums the sizes of the regular files under dir; errors (a block deleted while
// walking) only make the figure a little low.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // best effort
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// trackingRegisterer registers on the wrapped Registerer and remembers what it registered, so
// Close can unregister the TSDB's and the engine's metrics (they use MustRegister, which would
// panic when a store is opened again on the same registry).
type trackingRegisterer struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	cs  []prometheus.Collector
}

func (t *trackingRegisterer) Register(c prometheus.Collector) error {
	if t.reg == nil {
		return nil
	}
	if err := t.reg.Register(c); err != nil {
		return err
	}
	t.mu.Lock()
	t.cs = append(t.cs, c)
	t.mu.Unlock()
	return nil
}

func (t *trackingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := t.Register(c); err != nil {
			panic(err)
		}
	}
}

func (t *trackingRegisterer) Unregister(c prometheus.Collector) bool {
	if t.reg == nil {
		return false
	}
	return t.reg.Unregister(c)
}

func (t *trackingRegisterer) unregisterAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.cs {
		t.reg.Unregister(c)
	}
	t.cs = nil
}
