package hostmetrics

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/host"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// ScopeName is the instrumentation scope of every metric the scraper emits.
const ScopeName = "github.com/faultline/faultline/agent/hostmetrics"

// collector reads one area of the host.
type collector interface {
	// collect appends the area's metrics to ms. An error means some or all of them could not
	// be read; what was read is still appended.
	collect(ctx context.Context, ms pmetric.MetricSlice) error
}

// registration is a collector known to the registry.
type registration struct {
	name string
	help string // completes "Collect ..." in the flag's usage
	new  func(env *collectorEnv) (collector, error)
}

// registry is filled by the init() of each collector's file and only read afterwards.
var registry []registration

func registerCollector(r registration) {
	registry = append(registry, r)
}

func collectorNames() []string {
	names := make([]string, len(registry))
	for i, r := range registry {
		names[i] = r.name
	}
	return names
}

// collectorEnv is what a collector is built from.
type collectorEnv struct {
	cfg     *Config
	procDir string // the host's /proc
	// rootDir prefixes mount points when they are measured: "" or Config.RootPath.
	rootDir  string
	bootTime pcommon.Timestamp // start time of the host's cumulative counters
	reg      prometheus.Registerer
}

// procPath joins parts under the host's /proc.
func (e *collectorEnv) procPath(parts ...string) string {
	return filepath.Join(append([]string{e.procDir}, parts...)...)
}

// Scraper runs the enabled collectors and turns their readings into OTLP metrics.
type Scraper struct {
	logger   *slog.Logger
	resource map[string]string
	gopsEnv  common.EnvMap // nil unless RootPath is set

	mu         sync.Mutex // collectors keep the previous reading; one scrape at a time
	collectors []*namedCollector

	duration *prometheus.GaugeVec
	success  *prometheus.GaugeVec
	errors   *prometheus.CounterVec
}

type namedCollector struct {
	name string
	c    collector
	// logged are the distinct errors already logged, so that a collector failing every
	// interval the same way logs once; bounded so that varying messages cannot grow it.
	logged map[string]struct{}
}

const maxLoggedErrors = 32

// New builds the enabled collectors. resource becomes the attributes of the metrics'
// resource (see Resource).
func New(cfg Config, resource map[string]string, logger *slog.Logger, reg prometheus.Registerer) (*Scraper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	env := &collectorEnv{cfg: &cfg, reg: reg, procDir: "/proc"}
	s := &Scraper{logger: logger, resource: maps.Clone(resource)}
	if cfg.RootPath != "" {
		fi, err := os.Stat(cfg.RootPath)
		if err != nil {
			return nil, fmt.Errorf("collector.root-path: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("collector.root-path: %s is not a directory", cfg.RootPath)
		}
		env.rootDir = cfg.RootPath
		env.procDir = filepath.Join(cfg.RootPath, "proc")
		s.gopsEnv = gopsutilEnv(cfg.RootPath)
	} else if p := os.Getenv("HOST_PROC"); p != "" {
		// gopsutil reads HOST_PROC from the environment; the collectors that read /proc
		// themselves follow it too, so that all of them see the same host.
		env.procDir = p
	}
	env.bootTime = s.bootTime(env.procPath("stat"))

	for _, r := range registry {
		if !cfg.enabled(r.name) {
			continue
		}
		c, err := r.new(env)
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", r.name, err)
		}
		s.collectors = append(s.collectors, &namedCollector{name: r.name, c: c, logged: map[string]struct{}{}})
	}

	s.duration = promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
		Name: "faultline_agent_scrape_collector_duration_seconds",
		Help: "How long the last run of each host metric collector took.",
	}, []string{"collector"})
	s.success = promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
		Name: "faultline_agent_scrape_collector_success",
		Help: "1 if the last run of the host metric collector read everything, 0 if it failed in part or whole.",
	}, []string{"collector"})
	s.errors = promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_agent_scrape_errors_total",
		Help: "Runs of each host metric collector that failed in part or whole.",
	}, []string{"collector"})
	for _, nc := range s.collectors {
		s.errors.WithLabelValues(nc.name)
	}
	return s, nil
}

// gopsutilEnv points gopsutil at a host root mounted at root.
func gopsutilEnv(root string) common.EnvMap {
	return common.EnvMap{
		common.HostProcEnvKey: filepath.Join(root, "proc"),
		common.HostSysEnvKey:  filepath.Join(root, "sys"),
		common.HostEtcEnvKey:  filepath.Join(root, "etc"),
		common.HostVarEnvKey:  filepath.Join(root, "var"),
		common.HostRunEnvKey:  filepath.Join(root, "run"),
		common.HostDevEnvKey:  filepath.Join(root, "dev"),
		common.HostRootEnvKey: root,
	}
}

// bootTime is when the host booted, the start of its cumulative counters: the btime line
// of /proc/stat, else what gopsutil finds (other systems), else now.
func (s *Scraper) bootTime(procStat string) pcommon.Timestamp {
	var r fileReader
	if data, err := r.read(procStat); err == nil {
		for rest := data; len(rest) > 0; {
			var line []byte
			line, rest = nextLine(rest)
			if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
				if sec, ok := parseUint(bytes.TrimSpace(v)); ok && sec > 0 {
					return pcommon.Timestamp(sec * uint64(time.Second))
				}
			}
		}
	}
	if sec, err := host.BootTimeWithContext(s.withEnv(context.Background())); err == nil && sec > 0 {
		return pcommon.Timestamp(sec * uint64(time.Second))
	}
	s.logger.Warn("boot time unknown; cumulative host metrics count from the agent's start", "file", procStat)
	return pcommon.NewTimestampFromTime(time.Now())
}

func (s *Scraper) withEnv(ctx context.Context) context.Context {
	if s.gopsEnv == nil {
		return ctx
	}
	return context.WithValue(ctx, common.EnvKey, s.gopsEnv)
}

// Collectors names the enabled collectors, in the order they run.
func (s *Scraper) Collectors() []string {
	names := make([]string, len(s.collectors))
	for i, nc := range s.collectors {
		names[i] = nc.name
	}
	return names
}

// Scrape runs every enabled collector, one after the other, and returns their metrics under
// one resource and one scope. A failing collector is logged (once per distinct error) and
// counted; the others still run. When ctx ends, the collectors not yet run are skipped.
func (s *Scraper) Scrape(ctx context.Context) pmetric.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	attrs := rm.Resource().Attributes()
	attrs.EnsureCapacity(len(s.resource))
	for k, v := range s.resource {
		attrs.PutStr(k, v)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(ScopeName)
	ms := sm.Metrics()
	ctx = s.withEnv(ctx)
	for _, nc := range s.collectors {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		err := nc.c.collect(ctx, ms)
		if err != nil && ctx.Err() != nil {
			break // cut short by the caller (the agent stopping): not the collector's failure
		}
		s.duration.WithLabelValues(nc.name).Set(time.Since(start).Seconds())
		if err == nil {
			s.success.WithLabelValues(nc.name).Set(1)
			continue
		}
		s.success.WithLabelValues(nc.name).Set(0)
		s.errors.WithLabelValues(nc.name).Inc()
		s.logOnce(nc, err)
	}
	// A collector that failed halfway may have left a metric without points.
	ms.RemoveIf(func(m pmetric.Metric) bool { return pointCount(m) == 0 })
	return md
}

func (s *Scraper) logOnce(nc *namedCollector, err error) {
	msg := err.Error()
	if _, ok := nc.logged[msg]; ok || len(nc.logged) >= maxLoggedErrors {
		return
	}
	nc.logged[msg] = struct{}{}
	s.logger.Warn("host metric collector failed; the same error is not logged again", "collector", nc.name, "err", err)
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	default:
		return 0
	}
}
