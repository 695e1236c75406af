// Package agent is the host agent's pipeline: host metrics scraped every interval and log
// lines tailed from files, turned into OTLP and handed to a Sink. faultline-agent puts a
// durable on-disk buffer and a sender behind the sink (agent/standalone); faultline -target=all
// runs the same pipeline in-process with the collector's consumers as the sink.
//
// The import graph stays free of Prometheus server and Elasticsearch packages: the agent is a
// small binary that runs on every host.
package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/faultline/faultline/agent/hostmetrics"
	"github.com/faultline/faultline/agent/logtail"
)

// Sink takes the agent's data. A nil error means the data is durable: the tailer commits its
// file offsets only then.
type Sink interface {
	ConsumeLogs(ctx context.Context, ld plog.Logs) error
	ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error
}

// Config is the pipeline's configuration, shared by faultline-agent and the agent inside
// faultline -target=all.
type Config struct {
	HostName    string             `yaml:"host_name"`
	Interval    time.Duration      `yaml:"interval"`
	LogsService string             `yaml:"logs_service"`
	HostMetrics hostmetrics.Config `yaml:"host_metrics"`
	Logs        logtail.Config     `yaml:"logs"`
}

// RegisterFlags registers the pipeline's flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.HostName, "host.name", "", "host.name of everything this agent sends; empty means the machine's hostname.")
	f.DurationVar(&c.Interval, "interval", 10*time.Second, "How often host metrics are collected and sent.")
	f.StringVar(&c.LogsService, "logs.service", "", "service.name of tailed lines that carry none (JSON field service); empty means the file's name without extensions (checkout.log -> checkout).")
	c.HostMetrics.RegisterFlags(f)
	c.Logs.RegisterFlags(f)
}

// Validate checks the pipeline's settings.
func (c *Config) Validate() error {
	var errs []error
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("interval must be at least 1s, got %s", c.Interval))
	}
	return errors.Join(append(errs, c.HostMetrics.Validate(), c.Logs.Validate())...)
}

// Agent scrapes and tails until its context ends.
type Agent struct {
	cfg      Config
	sink     Sink
	logger   *slog.Logger
	resource map[string]string
	scraper  *hostmetrics.Scraper
	tailer   *logtail.Tailer // nil when no files are included

	scrapeFailures prometheus.Counter
}

// New builds the pipeline; stateDir keeps the tailer's checkpoint.
func New(cfg Config, stateDir string, sink Sink, logger *slog.Logger, reg prometheus.Registerer) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// With a root path (the agent in a container), describe the host, not the container.
	res := hostmetrics.ResourceAt(cfg.HostMetrics.RootPath)
	if cfg.HostName != "" {
		res["host.name"] = cfg.HostName
	}
	a := &Agent{cfg: cfg, sink: sink, logger: logger, resource: res}
	var err error
	if a.scraper, err = hostmetrics.New(cfg.HostMetrics, res, logger.With("component", "hostmetrics"), reg); err != nil {
		return nil, fmt.Errorf("host metrics: %w", err)
	}
	if len(cfg.Logs.Include) > 0 {
		if a.tailer, err = logtail.New(cfg.Logs, stateDir, logger.With("component", "logtail"), reg); err != nil {
			return nil, fmt.Errorf("log tailer: %w", err)
		}
	}
	a.scrapeFailures = promauto.With(reg).NewCounter(prometheus.CounterOpts{
		Name: "faultline_agent_metrics_send_failures_total",
		Help: "Host metric scrapes the sink refused (the buffer's disk failed, or the in-process collector refused them).",
	})
	return a, nil
}

// Run collects until ctx ends; on the way out the tailer hands over what it has read and
// saves its offsets.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	var tailErr error
	if a.tailer != nil {
		wg.Go(func() {
			tailErr = a.tailer.Run(ctx, func(ctx context.Context, b logtail.Batch) error {
				return a.sink.ConsumeLogs(ctx, a.logsOf(b))
			})
		})
	}
	a.scrapeLoop(ctx)
	wg.Wait()
	return tailErr
}

func (a *Agent) scrapeLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		md := a.scraper.Scrape(ctx)
		if md.DataPointCount() > 0 {
			if err := a.sink.ConsumeMetrics(ctx, md); err != nil && ctx.Err() == nil {
				a.scrapeFailures.Inc()
				a.logger.Warn("host metrics not sent", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logsOf turns a batch of tailed records into OTLP logs, one resource per service.
func (a *Agent) logsOf(b logtail.Batch) plog.Logs {
	ld := plog.NewLogs()
	byService := map[string]plog.LogRecordSlice{}
	for i := range b.Records {
		r := &b.Records[i]
		svc := r.Service
		if svc == "" {
			svc = a.cfg.LogsService
		}
		if svc == "" {
			svc = serviceOfFile(r.File())
		}
		recs, ok := byService[svc]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			attrs := rl.Resource().Attributes()
			for k, v := range a.resource {
				attrs.PutStr(k, v)
			}
			attrs.PutStr("service.name", svc)
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("github.com/faultline/faultline/agent/logtail")
			recs = sl.LogRecords()
			byService[svc] = recs
		}
		r.CopyTo(recs.AppendEmpty())
	}
	return ld
}

// serviceOfFile names a service after its log file: /var/log/checkout.log.1 -> checkout.
func serviceOfFile(path string) string {
	name := filepath.Base(path)
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	if name == "" || name == "." || name == string(os.PathSeparator) {
		return "unknown"
	}
	return name
}
