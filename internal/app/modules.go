package app

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/grafana/dskit/modules"
	"github.com/grafana/dskit/services"

	"github.com/prometheus/prometheus/model/labels"
	promv1 "github.com/prometheus/prometheus/web/api/v1"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/faultline/faultline/agent"
	"github.com/faultline/faultline/collector"
	"github.com/faultline/faultline/collector/servicegraph"
	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/logstore"
	"github.com/faultline/faultline/internal/metricstore"
	"github.com/faultline/faultline/internal/server"
	"github.com/faultline/faultline/internal/spanstore"
	"github.com/faultline/faultline/query"
	"github.com/faultline/faultline/query/hosts"
	"github.com/faultline/faultline/query/logs"
	"github.com/faultline/faultline/query/promapi"
	"github.com/faultline/faultline/query/rca"
	"github.com/faultline/faultline/query/topology"
	"github.com/faultline/faultline/ui"
)

// Module names; the user-visible ones are the targets.
const (
	Server    = "server"
	SpanStore = "spanstore"
	Metrics   = "metrics"
	Ruler     = "ruler"
	Graph     = "servicegraph"
	Collector = "collector"
	Query     = "query"
	RCA       = "rca"
	LogStore  = "logstore"
	Agent     = "agent"
	UI        = "ui"
	All       = "all"
)

// Targets are the values -target accepts.
var Targets = []string{All, Collector, Query}

func (a *App) setupModules() (*modules.Manager, error) {
	mm := modules.NewManager(a.gokitLogger)
	mm.RegisterModule(Server, a.initServer, modules.UserInvisibleModule)
	mm.RegisterModule(SpanStore, a.initSpanStore, modules.UserInvisibleModule)
	mm.RegisterModule(LogStore, a.initLogStore, modules.UserInvisibleModule)
	mm.RegisterModule(Agent, a.initAgent, modules.UserInvisibleModule)
	mm.RegisterModule(Metrics, a.initMetrics, modules.UserInvisibleModule)
	mm.RegisterModule(Ruler, a.initRuler, modules.UserInvisibleModule)
	mm.RegisterModule(Graph, a.initGraph, modules.UserInvisibleModule)
	mm.RegisterModule(Collector, a.initCollector)
	mm.RegisterModule(RCA, a.initRCA, modules.UserInvisibleModule)
	mm.RegisterModule(UI, a.initUI, modules.UserInvisibleModule)
	mm.RegisterModule(Query, a.initQuery)
	mm.RegisterModule(All, nil)

	// Stopping follows these edges backwards: receivers stop and drain into the store
	// before the store closes, and the HTTP server (with /ready) goes last.
	deps := map[string][]string{
		SpanStore: {Server},
		LogStore:  {Server},
		Metrics:   {Server},
		Graph:     {Server, Metrics},
		Collector: {Server, SpanStore, LogStore, Metrics, Graph},
		RCA:       {Server, SpanStore, LogStore, Metrics},
		Query:     {Server, SpanStore, LogStore, Metrics, RCA, UI},
		UI:        {Server},
		Ruler:     {Server, Metrics, RCA},
		// The local agent stops before the collector, so its last lines are stored.
		Agent: {Collector},
		All:   {Collector, Query, Ruler, Agent},
	}
	for mod, on := range deps {
		if err := mm.AddDependency(mod, on...); err != nil {
			return nil, err
		}
	}
	return mm, nil
}

func (a *App) initServer() (services.Service, error) {
	s, err := server.New(a.cfg.Server, a.logger.With("module", Server), a.registry)
	if err != nil {
		return nil, err
	}
	a.server = s
	return s, nil
}

// initUI serves the web app at "/" for the targets that answer queries (all, query): it calls
// the query API from the browser, so it belongs with it; the collector target serves none.
func (a *App) initUI() (services.Service, error) {
	a.server.HandleUI(ui.Handler(a.logger.With("module", UI)))
	return services.NewIdleService(nil, nil), nil
}

func (a *App) initSpanStore() (services.Service, error) {
	// The query target only reads: it may be pointed at the data dir of a stopped collector.
	readOnly := a.cfg.Target == Query
	store, err := spanstore.Open(a.cfg.SpanStore, filepath.Join(a.cfg.DataDir, "spans"), readOnly, a.logger.With("module", SpanStore), a.registry)
	if err != nil {
		return nil, fmt.Errorf("open span store: %w", err)
	}
	a.store = store
	running := store.RunRetention
	if readOnly {
		running = func(ctx context.Context) error { <-ctx.Done(); return nil }
	}
	return services.NewBasicService(nil, running, func(error) error {
		// Runs after the collector stopped, so every acknowledged span is in the store.
		return store.Close()
	}), nil
}

func (a *App) initLogStore() (services.Service, error) {
	readOnly := a.cfg.Target == Query
	store, err := logstore.Open(a.cfg.LogStore, filepath.Join(a.cfg.DataDir, "logs"), readOnly, a.logger.With("module", LogStore), a.registry)
	if err != nil {
		return nil, fmt.Errorf("open log store: %w", err)
	}
	a.logs = store
	running := store.RunRetention
	if readOnly {
		running = func(ctx context.Context) error { <-ctx.Done(); return nil }
	}
	return services.NewBasicService(nil, running, func(error) error {
		// Runs after the collector stopped, so every acknowledged record is in the store.
		return store.Close()
	}), nil
}

// initAgent runs the host agent inside this process (target all), so the first run shows
// the host it runs on. It hands its data to the collector's consumers directly: no network
// hop, and the stores' own durability stands in for the agent's disk buffer.
func (a *App) initAgent() (services.Service, error) {
	if !a.cfg.Agent.Enabled {
		return services.NewIdleService(nil, nil), nil
	}
	stateDir := filepath.Join(a.cfg.DataDir, "agent")
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return nil, fmt.Errorf("agent state dir: %w", err)
	}
	ag, err := agent.New(a.cfg.Agent.Config, stateDir, a.collector, a.logger.With("module", Agent), a.registry)
	if err != nil {
		return nil, fmt.Errorf("local agent: %w", err)
	}
	return services.NewBasicService(nil, ag.Run, nil), nil
}

func (a *App) initMetrics() (services.Service, error) {
	ms, err := metricstore.Open(a.cfg.Metrics, filepath.Join(a.cfg.DataDir, "tsdb"), a.logger.With("module", Metrics), a.registry)
	if err != nil {
		return nil, fmt.Errorf("open metric store: %w", err)
	}
	a.metrics = ms
	return services.NewIdleService(nil, func(error) error {
		// After the collector, the service-graph generator and the rules stopped writing.
		return ms.Close()
	}), nil
}

func (a *App) initRuler() (services.Service, error) {
	al, err := alerting.New(a.cfg.Alerting, a.metrics.Queryable(), a.metrics.Appendable(), a.metrics.Engine(),
		a.logger.With("module", Ruler), a.registry)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	a.alerting = al
	if t := a.incidents; t != nil {
		al.SetIncidentOf(func(lset labels.Labels) (alerting.IncidentInfo, bool) {
			svc := lset.Get("service")
			if svc == "" {
				return alerting.IncidentInfo{}, false
			}
			in, _, ok := t.Of(svc)
			return alerting.IncidentInfo{ID: in.ID, RootCause: in.RootCause, RootCauseKind: in.Kind, Summary: in.Summary}, ok
		})
		t.OnChange(al.ResendFiring)
	}
	return services.NewIdleService(
		func(ctx context.Context) error { return al.Start(ctx) },
		func(error) error { al.Stop(); return nil },
	), nil
}

func (a *App) initRCA() (services.Service, error) {
	logger := a.logger.With("module", RCA)
	engine, err := rca.New(a.cfg.RCA, a.metrics.Queryable(), a.store, logger, a.registry)
	if err != nil {
		return nil, err
	}
	engine.SetLogs(a.logs)
	var tracker *rca.Tracker
	if a.cfg.RCA.EvaluationInterval > 0 {
		tracker, err = rca.NewTracker(a.cfg.RCA, engine, a.metrics.Appendable(), rca.FilePath(a.cfg.DataDir), logger, a.registry)
		if err != nil {
			return nil, err
		}
	}
	a.incidents = tracker
	rca.NewAPI(engine, tracker, logger).Register(a.server.Mux())
	if tracker == nil {
		return services.NewIdleService(nil, nil), nil
	}
	return services.NewBasicService(nil, tracker.Run, nil), nil
}

func (a *App) initGraph() (services.Service, error) {
	g, err := servicegraph.New(a.cfg.Graph, a.metrics.Appendable(), a.logger.With("module", Graph), a.registry)
	if err != nil {
		return nil, fmt.Errorf("service graph: %w", err)
	}
	a.graph = g
	// Run returns after the collector stopped (it depends on this module): it pairs what is
	// still pending and flushes the last values into the TSDB before the TSDB closes.
	return services.NewBasicService(nil, g.Run, nil), nil
}

func (a *App) initCollector() (services.Service, error) {
	sinks := collector.Sinks{
		Spans:        a.store,
		SpanObserver: a.graph.ConsumeTraces,
		Metrics: func(ctx context.Context, md pmetric.Metrics) error {
			_, err := a.metrics.WriteOTLP(ctx, md)
			return err
		},
		Logs: a.logs.Write,
	}
	c, err := collector.New(a.cfg.OTLP, sinks, a.logger.With("module", Collector), a.registry)
	if err != nil {
		return nil, err
	}
	a.collector = c
	return c, nil
}

func (a *App) initQuery() (services.Service, error) {
	api, err := query.NewAPI(a.cfg.Query, a.store, a.logger.With("module", Query), a.registry)
	if err != nil {
		return nil, err
	}
	topo, err := topology.New(a.cfg.Topology, a.metrics.Engine(), a.metrics.Queryable(), a.logger.With("module", Query, "api", "topology"), a.registry)
	if err != nil {
		return nil, fmt.Errorf("topology API: %w", err)
	}
	topo.Register(a.server.Mux())
	hostsAPI, err := hosts.New(a.metrics.Engine(), a.metrics.Queryable(), a.cfg.Query.DefaultLookback, a.logger.With("module", Query, "api", "hosts"), a.registry)
	if err != nil {
		return nil, fmt.Errorf("hosts API: %w", err)
	}
	hostsAPI.Register(a.server.Mux())
	api.SetDependencies(func(ctx context.Context, start, end time.Time) ([]query.Dependency, error) {
		t, err := topo.Topology(ctx, start, end)
		if err != nil {
			return nil, err
		}
		deps := make([]query.Dependency, 0, len(t.Edges))
		for _, e := range t.Edges {
			deps = append(deps, query.Dependency{Parent: e.Caller, Child: e.Callee, CallCount: e.Requests})
		}
		return deps, nil
	}, a.cfg.Topology.DefaultWindow)
	api.SetLogs(logs.NewAPI(a.logs, a.cfg.Query.DefaultLookback, a.logger.With("module", Query, "api", "logs")))
	api.Register(a.server.Mux())

	prom, err := promapi.New(promapi.Deps{
		Engine: a.metrics.Engine(), Queryable: a.metrics.Queryable(), DB: a.metrics.DB(), DataDir: a.metrics.Dir(),
		// Looked up per request: the ruler module may not run in this target.
		Rules: func(context.Context) promv1.RulesRetriever {
			if a.alerting == nil {
				return nil
			}
			return a.alerting.Manager()
		},
		Alertmanagers: func() []*url.URL {
			if a.alerting == nil {
				return nil
			}
			return a.alerting.Alertmanagers()
		},
		Logger: a.logger.With("module", Query, "api", "prometheus"), Registerer: a.registry, Gatherer: a.registry,
	})
	if err != nil {
		return nil, fmt.Errorf("prometheus API: %w", err)
	}
	prom.Register(a.server.Mux())

	return services.NewIdleService(nil, nil), nil
}
