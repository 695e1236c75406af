// Package promapi serves the Prometheus HTTP API at /prometheus/api/v1 over Faultline's embedded
// metrics store, so that Grafana's Prometheus data source (and any other Prometheus client) works
// against http://HOST:7070/prometheus.
//
// It does not reimplement the API: it mounts Prometheus's own implementation
// (github.com/prometheus/prometheus/web/api/v1), so query, query_range, series, labels,
// label/NAME/values, metadata, rules, alerts and status/buildinfo answer byte for byte as
// Prometheus does. What Faultline has no equivalent of is stubbed: there are no scrape targets
// (targets, scrape_pools and metadata answer empty lists), the admin API is off, and the remote
// write and OTLP write receivers are off (metrics arrive through Faultline's own OTLP receiver).
package promapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/route"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/notifications"
	v1 "github.com/prometheus/prometheus/web/api/v1"
)

// Prefix is the path under which the Prometheus API is served.
const Prefix = "/prometheus/api/v1"

// Remote read limits, as Prometheus's defaults (-storage.remote.read-*).
const (
	remoteReadSampleLimit      = 5e7
	remoteReadConcurrencyLimit = 10
	remoteReadMaxBytesInFrame  = 1048576
)

// ErrNoQueryEngine is returned by New when Deps has no Engine or no Queryable.
var ErrNoQueryEngine = errors.New("promapi: a PromQL engine and a queryable are required")

// Deps are what the Prometheus API is served from. Engine and Queryable are required; everything
// else is optional.
type Deps struct {
	Engine    *promql.Engine
	Queryable storage.SampleAndChunkQueryable
	// DB, when set, answers status/tsdb, status/tsdb/blocks, status/walreplay and
	// query_exemplars; without it they answer an "unavailable" error (exemplars: empty).
	DB *tsdb.DB
	// DataDir is the TSDB directory, reported by the API where Prometheus reports its own.
	DataDir string
	// Rules returns the rules manager (or anything with AlertingRules and RuleGroups) for
	// rules and alerts. Nil, or returning nil, answers empty lists.
	Rules func(context.Context) v1.RulesRetriever
	// Alertmanagers returns the Alertmanager URLs notified of alerts, for /alertmanagers.
	Alertmanagers func() []*url.URL
	Logger        *slog.Logger
	// Registerer receives the API's own metrics (request durations and Prometheus's remote
	// read gauge). Nil registers nothing.
	Registerer prometheus.Registerer
	// Gatherer is what status/tsdb and status/self_metrics read. Nil gathers nothing.
	Gatherer prometheus.Gatherer
}

// API is Prometheus's HTTP API, mounted on Faultline's stores.
type API struct {
	router *route.Router
	api    *v1.API
}

// New builds the Prometheus API over d.
func New(d Deps) (*API, error) {
	if d.Engine == nil || d.Queryable == nil {
		return nil, ErrNoQueryEngine
	}
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	gatherer := d.Gatherer
	if gatherer == nil {
		gatherer = prometheus.NewRegistry()
	}

	rulesFn := func(ctx context.Context) v1.RulesRetriever {
		if d.Rules != nil {
			if rr := d.Rules(ctx); rr != nil {
				return rr
			}
		}
		return noRules{}
	}
	amFn := func(context.Context) v1.AlertmanagerRetriever {
		return alertmanagers{urls: d.Alertmanagers}
	}
	var (
		admin v1.TSDBAdminStats         = noTSDB{}
		eq    storage.ExemplarQueryable = noExemplars{}
	)
	if d.DB != nil {
		admin = tsdbStats{db: d.DB}
		eq = d.DB
	}
	startTime := time.Now()
	cwd, _ := os.Getwd()
	hostname, _ := os.Hostname()
	runtimeInfo := func() (v1.RuntimeInfo, error) {
		return v1.RuntimeInfo{
			StartTime:      startTime,
			CWD:            cwd,
			Hostname:       hostname,
			ServerTime:     time.Now(),
			GoroutineCount: runtime.NumGoroutine(),
			GOMAXPROCS:     runtime.GOMAXPROCS(0),
			GOMEMLIMIT:     debug.SetMemoryLimit(-1),
			GOGC:           os.Getenv("GOGC"),
			GODEBUG:        os.Getenv("GODEBUG"),
		}, nil
	}
	build := buildInfo()

	api := v1.NewAPI(
		d.Engine,
		d.Queryable,
		nil, nil, // no appenders: remote write and OTLP write are off
		eq,
		func(context.Context) v1.ScrapePoolsRetriever { return noTargets{} },
		func(context.Context) v1.TargetRetriever { return noTargets{} },
		amFn,
		func() config.Config { return config.DefaultConfig },
		map[string]string{},
		v1.GlobalURLOptions{},
		func(h http.HandlerFunc) http.HandlerFunc { return h }, // ready as soon as mounted
		admin,
		d.DataDir,
		false, // admin API off
		false, // experimental search API off
		0,
		logger,
		rulesFn,
		remoteReadSampleLimit,
		remoteReadConcurrencyLimit,
		remoteReadMaxBytesInFrame,
		false, // not an agent
		nil,   // no CORS origin
		runtimeInfo,
		build,
		func() []notifications.Notification { return []notifications.Notification{} },
		func() (<-chan notifications.Notification, func(), bool) { return nil, nil, false },
		gatherer,
		d.Registerer,
		nil,        // default stats renderer
		false, nil, // remote write receiver off
		false, false, false, // OTLP write receiver off
		false,
		5*time.Minute, // lookback delta, only used by the (disabled) OTLP receiver
		false,
		false,
		nil,
		features.NewRegistry(),
		v1.OpenAPIOptions{Version: build.Version},
		nil, // default PromQL parser
	)

	router := route.New().WithPrefix(Prefix)
	if d.Registerer != nil {
		duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "faultline_prometheus_api_request_duration_seconds",
			Help:    "Time to answer requests to the Prometheus HTTP API at " + Prefix + ", by handler and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler", "code"})
		if err := d.Registerer.Register(duration); err != nil {
			return nil, fmt.Errorf("register prometheus API metrics: %w", err)
		}
		router = router.WithInstrumentation(func(handlerName string, h http.HandlerFunc) http.HandlerFunc {
			// handlerName is the route below Prefix, e.g. "/query" or "/label/:name/values".
			return promhttp.InstrumentHandlerDuration(duration.MustCurryWith(prometheus.Labels{"handler": handlerName}), h)
		})
	}
	api.Register(router)
	return &API{router: router, api: api}, nil
}

// Register mounts the API on mux under Prefix.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle(Prefix+"/", a.router)
}

// ServeHTTP serves a request whose path starts with Prefix.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.router.ServeHTTP(w, r)
}

// buildInfo is what status/buildinfo answers. Clients such as Grafana read "version" to decide
// which Prometheus features they may use, so it is the version of the Prometheus library that
// answers (module v0.315.0 is Prometheus 3.15.0), or 3.0.0 when the binary carries no dependency
// list (test binaries); the other fields describe Faultline's build.
func buildInfo() *v1.PrometheusVersion {
	v := &v1.PrometheusVersion{
		Version:   "3.0.0",
		Branch:    "faultline",
		GoVersion: runtime.Version(),
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Revision = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.BuildDate = s.Value
		}
	}
	for _, m := range bi.Deps {
		if m.Path == "github.com/prometheus/prometheus" {
			if pv, ok := prometheusVersion(m.Version); ok {
				v.Version = pv
			}
		}
	}
	return v
}

// prometheusVersion turns the Go module version of github.com/prometheus/prometheus into the
// Prometheus release it is: v0.MMP.x is release (MMP/100).(MMP%100).x, so v0.315.0 is 3.15.0.
func prometheusVersion(mod string) (string, bool) {
	var minor, patch int
	if _, err := fmt.Sscanf(mod, "v0.%d.%d", &minor, &patch); err != nil || minor < 100 {
		return "", false
	}
	return fmt.Sprintf("%d.%d.%d", minor/100, minor%100, patch), true
}

// noRules answers rules and alerts when there is no rules manager.
type noRules struct{}

func (noRules) RuleGroups() []*rules.Group           { return nil }
func (noRules) AlertingRules() []*rules.AlertingRule { return nil }

// alertmanagers lists the Alertmanagers alerts are sent to.
type alertmanagers struct {
	urls func() []*url.URL
}

func (a alertmanagers) Alertmanagers() []*url.URL {
	if a.urls == nil {
		return nil
	}
	return a.urls()
}

func (alertmanagers) DroppedAlertmanagers() []*url.URL { return nil }

// errNoScrapeTargets answers the scrape pool configuration endpoint: Faultline does not scrape.
var errNoScrapeTargets = errors.New("faultline has no scrape targets: metrics arrive over OTLP")

// noTargets answers the scrape target and scrape pool endpoints: Faultline does not scrape.
type noTargets struct{}

func (noTargets) ScrapePools() []string                       { return []string{} }
func (noTargets) TargetsActive() map[string][]*scrape.Target  { return map[string][]*scrape.Target{} }
func (noTargets) TargetsDropped() map[string][]*scrape.Target { return map[string][]*scrape.Target{} }
func (noTargets) TargetsDroppedCounts() map[string]int        { return map[string]int{} }
func (noTargets) ScrapePoolConfig(string) (*config.ScrapeConfig, error) {
	return nil, errNoScrapeTargets
}

// tsdbStats answers the TSDB status endpoints from the embedded TSDB, as Prometheus's own
// readyStorage does. The admin endpoints that would call the mutating methods are off.
type tsdbStats struct {
	db *tsdb.DB
}

func (s tsdbStats) CleanTombstones() error { return s.db.CleanTombstones() }
func (s tsdbStats) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	return s.db.Delete(ctx, mint, maxt, ms...)
}
func (s tsdbStats) Snapshot(dir string, withHead bool) error { return s.db.Snapshot(dir, withHead) }
func (s tsdbStats) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return s.db.Head().Stats(statsByLabelName, limit), nil
}

// WALReplayStatus reports a finished replay: the DB is open, so its WAL has been replayed (the
// replay progress lives in the tsdb.DBStats given to tsdb.Open, which the store keeps to itself).
func (tsdbStats) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return tsdb.WALReplayStatus{}, nil
}
func (s tsdbStats) BlockMetas() ([]tsdb.BlockMeta, error) { return s.db.BlockMetas(), nil }

// errNoTSDB answers the TSDB status endpoints when the API was built without a *tsdb.DB.
var errNoTSDB = errors.New("TSDB status is not available on this Faultline instance")

type noTSDB struct{}

func (noTSDB) CleanTombstones() error                                         { return errNoTSDB }
func (noTSDB) Delete(context.Context, int64, int64, ...*labels.Matcher) error { return errNoTSDB }
func (noTSDB) Snapshot(string, bool) error                                    { return errNoTSDB }
func (noTSDB) Stats(string, int) (*tsdb.Stats, error)                         { return nil, errNoTSDB }
func (noTSDB) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return tsdb.WALReplayStatus{}, errNoTSDB
}
func (noTSDB) BlockMetas() ([]tsdb.BlockMeta, error) { return nil, errNoTSDB }

// noExemplars answers query_exemplars with no exemplars when there is no TSDB.
type noExemplars struct{}

func (noExemplars) ExemplarQuerier(context.Context) (storage.ExemplarQuerier, error) {
	return noExemplars{}, nil
}

func (noExemplars) Select(int64, int64, ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	return []exemplar.QueryResult{}, nil
}
