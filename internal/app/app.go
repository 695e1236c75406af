// Package app wires Faultline's modules (dskit modules and services) into the faultline
// binary: configuration in, a running process out, one shutdown order.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	gokitlog "github.com/go-kit/log"
	"github.com/grafana/dskit/modules"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/faultline/faultline/collector"
	"github.com/faultline/faultline/collector/servicegraph"
	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/logging"
	"github.com/faultline/faultline/internal/logstore"
	"github.com/faultline/faultline/internal/metricstore"
	"github.com/faultline/faultline/internal/server"
	"github.com/faultline/faultline/internal/spanstore"
	"github.com/faultline/faultline/query/rca"
)

// App is one faultline process.
type App struct {
	cfg         Config
	logger      *slog.Logger
	gokitLogger gokitlog.Logger
	registry    *prometheus.Registry

	server    *server.Server
	store     *spanstore.Store
	logs      *logstore.Store
	collector *collector.Collector // nil unless the target runs the collector
	metrics   *metricstore.Store
	alerting  *alerting.Alerting // nil unless the target runs rules
	incidents *rca.Tracker       // nil when incident evaluation is off
	graph     *servicegraph.Generator
}

// New builds the process from a validated configuration.
func New(cfg Config, logger *slog.Logger) *App {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		version.NewCollector("faultline"),
	)
	return &App{cfg: cfg, logger: logger, gokitLogger: logging.GoKit(logger), registry: reg}
}

// Run starts the modules of the target and blocks until SIGTERM/SIGINT or until a module
// fails. On a signal, /ready fails first, then modules stop in reverse dependency order:
// receivers stop accepting, the queue drains, the store flushes and closes.
func (a *App) Run(ctx context.Context) error {
	mm, err := a.setupModules()
	if err != nil {
		return err
	}
	svcs, err := mm.InitModuleServices(a.cfg.Target)
	if err != nil {
		if a.store != nil {
			_ = a.store.Close()
		}
		if a.metrics != nil {
			_ = a.metrics.Close()
		}
		if a.logs != nil {
			_ = a.logs.Close()
		}
		return fmt.Errorf("initialise modules: %w", err)
	}
	list := make([]services.Service, 0, len(svcs))
	for _, s := range svcs {
		list = append(list, s)
	}
	sm, err := services.NewManager(list...)
	if err != nil {
		return err
	}
	failed := make(chan error, 1)
	sm.AddListener(services.NewManagerListener(nil, nil, func(s services.Service) {
		for name, svc := range svcs {
			if svc == s {
				select {
				case failed <- fmt.Errorf("module %s failed: %w", name, s.FailureCase()):
				default:
				}
			}
		}
	}))
	a.server.SetReadiness(func() error {
		if !sm.IsHealthy() {
			return errors.New("modules are not all running")
		}
		return nil
	})

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	start := time.Now()
	if err := sm.StartAsync(context.Background()); err != nil {
		return err
	}
	var runErr error
	if err := sm.AwaitHealthy(ctx); err != nil {
		runErr = firstError(failed, err)
	} else {
		a.logger.Info("faultline started", "target", a.cfg.Target, "data_dir", a.cfg.DataDir, "took", time.Since(start).Round(time.Millisecond))
		runErr = a.wait(ctx, failed)
	}
	a.server.Draining()
	sm.StopAsync()
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sm.AwaitStopped(stopCtx); err != nil {
		return errors.Join(runErr, fmt.Errorf("modules did not stop in time: %w", err))
	}
	for name, s := range svcs {
		if err := s.FailureCase(); err != nil && runErr == nil && !errors.Is(err, modules.ErrStopProcess) {
			runErr = fmt.Errorf("module %s: %w", name, err)
		}
	}
	if runErr == nil {
		a.logger.Info("faultline stopped")
	}
	return runErr
}

// wait blocks until a shutdown signal or a module failure; SIGHUP reloads the rule files.
func (a *App) wait(ctx context.Context, failed <-chan error) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			a.logger.Info("signal received, shutting down")
			return nil
		case err := <-failed:
			return err
		case <-hup:
			if a.alerting == nil {
				a.logger.Info("SIGHUP: this target runs no rules; nothing to reload")
				continue
			}
			if err := a.alerting.Reload(); err != nil {
				a.logger.Error("SIGHUP: rule reload failed; the previous rules stay", "err", err)
				continue
			}
			a.logger.Info("SIGHUP: rules reloaded")
		}
	}
}

func firstError(failed <-chan error, fallback error) error {
	select {
	case err := <-failed:
		return err
	default:
		return fallback
	}
}

// Main is the whole of cmd/faultline: it returns the process exit code.
func Main(args []string) int {
	var cfg Config
	opts, err := loadConfig(args, &cfg)
	if err != nil {
		if errors.Is(err, errHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "faultline:", err)
		return 2
	}
	if opts.Verify {
		fmt.Fprintln(os.Stdout, "configuration is valid")
		return 0
	}
	logger, err := logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultline:", err)
		return 2
	}
	if err := New(cfg, logger).Run(context.Background()); err != nil {
		logger.Error("faultline failed", "err", err)
		return 1
	}
	return 0
}
