// Package hosts answers GET /api/v1/hosts: the hosts seen in a time window, with the services
// that ran on each and, for hosts with the Faultline agent, their CPU and memory use.
//
// # Parameters
//
//	start,end  RFC 3339 or Unix seconds; end defaults to now, start to end minus the default
//	           window (the query API's default lookback, -query.default-lookback, 1h); start
//	           must be before end. The window is (start, end], in milliseconds as the TSDB
//	           stores samples.
//
// # Answer
//
//	{"hosts": [{"host": "sim-host-1", "services": ["ad", "frontend"], "agent": true,
//	  "cpu_utilization": 0.12, "memory_utilization": 0.41,
//	  "last_seen": "2026-11-22T12:30:00Z"}, ...], "truncated": false}
//
// A host is listed if, in the window, it has host agent metrics (agent true) or a service sent
// spans from it (faultline_service_host_info, written by collector/servicegraph from the
// resources' service.name and host.name), or both. hosts are sorted by name, services by name;
// services is [] (never null) for a host with no spans in the window. For an agent host,
// last_seen is the time (RFC 3339, UTC) of its latest sample of the agent's CPU time or memory
// usage (system_cpu_time_seconds_total, system_memory_usage_bytes), and cpu_utilization and
// memory_utilization (0 to 1) are the latest values in the window of the default recording
// rules faultline:host_cpu_utilization:ratio and faultline:host_memory_utilization:ratio, null
// when the ruler has not written them (the first minute of an agent, the query target, rules
// disabled). For a host without the agent, all three are null. At most MaxHosts hosts are
// answered, the first ones by name; truncated tells that there were more.
//
// The log store's (service, host) streams are not read: the store keeps no time per stream,
// so listing the streams of a window would mean scanning its blocks.
//
// Errors are {"error": "..."}: 400 for a bad parameter (the message names it), 405 for a
// method other than GET or HEAD, 503 when the request is canceled or the query times out, 500
// when the metrics store fails (logged).
//
// # Queries
//
// Four PromQL instant queries at end, through the metrics store's engine. The agent's samples
// are found with timestamp() over its series with the query's lookback set to the window, which
// reads only the latest sample of each series; the recording rules with last_over_time() over
// the window, because the ruler ends a series with a stale marker when the agent stops and the
// value before it is the one to show; the service-host pairs with last_over_time() too.
package hosts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/faultline/faultline/internal/httpparam"
	"github.com/faultline/faultline/internal/metricstore"
)

// MaxHosts is the most hosts one answer lists.
const MaxHosts = 5000

// The agent's series (OTLP system.cpu.time and system.memory.usage under Prometheus names) and
// the default recording rules over them (internal/alerting/defaultrules/hosts.yaml).
const (
	agentCPUTime     = "system_cpu_time_seconds_total"
	agentMemoryUsage = "system_memory_usage_bytes"
	cpuRule          = "faultline:host_cpu_utilization:ratio"
	memoryRule       = "faultline:host_memory_utilization:ratio"
)

// The queries, all instant at end (see the package comment). The label values they answer
// come from the store; nothing from the request is spliced into them but the window.
var agentQuery = fmt.Sprintf(`max by (%s) (timestamp({__name__=~"%s|%s", %s!=""}))`,
	metricstore.LabelHostName, agentCPUTime, agentMemoryUsage, metricstore.LabelHostName)

func ruleQuery(rule string, window time.Duration) string {
	return fmt.Sprintf(`max by (%s) (last_over_time(%s{%s!=""}[%dms]))`,
		metricstore.LabelHostName, rule, metricstore.LabelHostName, window.Milliseconds())
}

func servicesQuery(window time.Duration) string {
	return fmt.Sprintf(`group by (%s, %s) (last_over_time(%s{%s!="", %s!=""}[%dms]))`,
		metricstore.LabelHostName, metricstore.LabelService, metricstore.ServiceHostInfo,
		metricstore.LabelHostName, metricstore.LabelService, window.Milliseconds())
}

// Errors of New.
var (
	ErrNoEngine    = errors.New("hosts: a PromQL engine is required")
	ErrNoQueryable = errors.New("hosts: a queryable metrics store is required")
)

// Host is one host of the window.
type Host struct {
	Host              string     `json:"host"`
	Services          []string   `json:"services"`
	Agent             bool       `json:"agent"`
	CPUUtilization    *float64   `json:"cpu_utilization"`
	MemoryUtilization *float64   `json:"memory_utilization"`
	LastSeen          *time.Time `json:"last_seen"`
}

// List is the answer: hosts sorted by name, never nil; Truncated when more than MaxHosts were
// found.
type List struct {
	Hosts     []Host `json:"hosts"`
	Truncated bool   `json:"truncated"`
}

// API lists hosts and serves them over HTTP.
type API struct {
	engine        *promql.Engine
	q             storage.Queryable
	defaultWindow time.Duration
	maxHosts      int
	logger        *slog.Logger
	now           func() time.Time

	duration prometheus.Histogram
	failures *prometheus.CounterVec
}

// New builds the hosts API over the metrics store's engine and queryable; a request without
// start covers the defaultWindow before end. Its metrics are registered on reg (nil: not
// registered).
func New(engine *promql.Engine, q storage.Queryable, defaultWindow time.Duration, logger *slog.Logger, reg prometheus.Registerer) (*API, error) {
	switch {
	case engine == nil:
		return nil, ErrNoEngine
	case q == nil:
		return nil, ErrNoQueryable
	case defaultWindow <= 0:
		return nil, fmt.Errorf("hosts: the default window must be positive, got %s", defaultWindow)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &API{
		engine:        engine,
		q:             q,
		defaultWindow: defaultWindow,
		maxHosts:      MaxHosts,
		logger:        logger,
		now:           time.Now,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "faultline_hosts_duration_seconds",
			Help:    "Time to list the hosts of a window from the metrics store.",
			Buckets: prometheus.DefBuckets,
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_hosts_requests_failed_total",
			Help: "Host list requests that failed, by reason (bad_request, storage).",
		}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{a.duration, a.failures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register hosts metrics: %w", err)
			}
		}
	}
	return a, nil
}

// Register mounts GET /api/v1/hosts on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("/api/v1/hosts", a.serveHosts)
}

func (a *API) serveHosts(w http.ResponseWriter, r *http.Request) {
	if !httpparam.AllowGet(w, r) {
		return
	}
	start, end, err := httpparam.ParseWindow(r.URL.Query(), a.now(), a.defaultWindow)
	if err != nil {
		a.failures.WithLabelValues("bad_request").Inc()
		httpparam.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, err := a.Hosts(r.Context(), start, end)
	if err != nil {
		a.failures.WithLabelValues("storage").Inc()
		code := http.StatusInternalServerError
		if canceled(err) {
			code = http.StatusServiceUnavailable
		}
		a.logger.Warn("hosts failed", "start", start, "end", end, "err", err)
		httpparam.WriteError(w, code, err.Error())
		return
	}
	httpparam.WriteJSON(w, http.StatusOK, list)
}

// canceled reports whether err is the request's end or the engine's timeout rather than a
// failure of the store. The engine reports both with its own error types, which wrap nothing.
func canceled(err error) bool {
	var (
		qc promql.ErrQueryCanceled
		qt promql.ErrQueryTimeout
	)
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &qc) || errors.As(err, &qt)
}

// Hosts lists the hosts of the window (start, end].
func (a *API) Hosts(ctx context.Context, start, end time.Time) (List, error) {
	if !start.Before(end) {
		return List{}, httpparam.BadParam("start (%s) must be before end (%s)", start, end)
	}
	began := time.Now()
	defer func() { a.duration.Observe(time.Since(began).Seconds()) }()

	// Samples have millisecond timestamps and the engine evaluates at a millisecond: a window
	// shorter than one still covers the millisecond of end.
	window := time.Duration(max(end.UnixMilli()-start.UnixMilli(), 1)) * time.Millisecond
	byName := map[string]*Host{}
	host := func(s *promql.Sample) *Host {
		name := s.Metric.Get(metricstore.LabelHostName)
		h := byName[name]
		if h == nil {
			h = &Host{Host: name, Services: []string{}}
			byName[name] = h
		}
		return h
	}

	err := a.instant(ctx, "agent samples", agentQuery, end, window, func(s *promql.Sample) {
		h := host(s)
		h.Agent = true
		t := time.UnixMilli(int64(math.Round(s.F * 1000))).UTC()
		h.LastSeen = &t
	})
	if err != nil {
		return List{}, err
	}
	for _, m := range []struct {
		rule string
		dst  func(*Host) **float64
	}{
		{cpuRule, func(h *Host) **float64 { return &h.CPUUtilization }},
		{memoryRule, func(h *Host) **float64 { return &h.MemoryUtilization }},
	} {
		err := a.instant(ctx, m.rule, ruleQuery(m.rule, window), end, window, func(s *promql.Sample) {
			h := byName[s.Metric.Get(metricstore.LabelHostName)]
			if h == nil || math.IsNaN(s.F) || math.IsInf(s.F, 0) {
				return // agent hosts only; a NaN would not encode as JSON
			}
			f := s.F
			*m.dst(h) = &f
		})
		if err != nil {
			return List{}, err
		}
	}
	err = a.instant(ctx, "service hosts", servicesQuery(window), end, window, func(s *promql.Sample) {
		h := host(s)
		h.Services = append(h.Services, s.Metric.Get(metricstore.LabelService))
	})
	if err != nil {
		return List{}, err
	}

	list := List{Hosts: make([]Host, 0, min(len(byName), a.maxHosts))}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) > a.maxHosts {
		names, list.Truncated = names[:a.maxHosts], true
	}
	for _, name := range names {
		h := byName[name]
		slices.Sort(h.Services) // group by answers each pair once
		list.Hosts = append(list.Hosts, *h)
	}
	return list, nil
}

// instant runs qs at end with the given lookback and calls each for every sample of the
// instant vector it answers, before the query's memory goes back to the engine.
func (a *API) instant(ctx context.Context, what, qs string, end time.Time, lookback time.Duration, each func(*promql.Sample)) error {
	q, err := a.engine.NewInstantQuery(ctx, a.q, promql.NewPrometheusQueryOpts(false, lookback), qs, end)
	if err != nil {
		return fmt.Errorf("query %s: %w", what, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return fmt.Errorf("query %s: %w", what, res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		return fmt.Errorf("query %s: %w", what, err)
	}
	for i := range v {
		each(&v[i])
	}
	return nil
}
