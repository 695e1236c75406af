// Package standalone is the faultline-agent process: the agent pipeline writing into a durable
// on-disk buffer, a sender draining the buffer to the collector, and an HTTP listener for
// /metrics and /ready. One shutdown order: /ready fails, the scraper and the tailer stop (the
// tailer hands its last records to the buffer and saves its offsets), the sender stops (an
// export in flight stays in the buffer), the buffer closes, the listener goes last.
package standalone

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/collectors/version"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/faultline/faultline/agent"
	"github.com/faultline/faultline/agent/buffer"
	"github.com/faultline/faultline/agent/export"
	"github.com/faultline/faultline/internal/config"
	"github.com/faultline/faultline/internal/logging"
	"github.com/faultline/faultline/internal/server"
)

// DefaultHTTPAddr is the agent's own listener (/metrics, /ready), beside faultline's :7070.
const DefaultHTTPAddr = ":7071"

// Config is the whole configuration of faultline-agent.
type Config struct {
	StateDir  string         `yaml:"state_dir"`
	Log       logging.Config `yaml:"log"`
	Server    server.Config  `yaml:"server"`
	Collector export.Config  `yaml:"collector"`
	Buffer    buffer.Config  `yaml:"buffer"`
	Agent     agent.Config   `yaml:",inline"`
}

// RegisterFlags registers every setting as a flag and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.StateDir, "state.dir", "./agent-data", "Directory of the agent's state: the log offsets checkpoint and the on-disk buffer.")
	c.Log.RegisterFlags(f)
	c.Server.RegisterFlags(f)
	// The agent runs beside faultline on the same hosts: its own port by default.
	addr := f.Lookup("http.addr")
	addr.DefValue = DefaultHTTPAddr
	_ = addr.Value.Set(DefaultHTTPAddr)
	addr.Usage = "Address of the agent's /metrics and /ready."
	c.Collector.RegisterFlags(f)
	c.Buffer.RegisterFlags(f)
	c.Agent.RegisterFlags(f)
}

// Validate checks every section.
func (c *Config) Validate() error {
	var errs []error
	if c.StateDir == "" {
		errs = append(errs, errors.New("state.dir must not be empty"))
	}
	return errors.Join(append(errs, c.Log.Validate(), c.Server.Validate(), c.Collector.Validate(), c.Buffer.Validate(), c.Agent.Validate())...)
}

// Main is the whole of cmd/faultline-agent: it returns the process exit code.
func Main(args []string) int {
	var cfg Config
	opts, err := config.Load("faultline-agent", args, &cfg, os.Stderr)
	if err != nil {
		if errors.Is(err, config.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "faultline-agent:", err)
		return 2
	}
	if opts.Verify {
		fmt.Fprintln(os.Stdout, "configuration is valid")
		return 0
	}
	logger, err := logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultline-agent:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, cfg, logger); err != nil {
		logger.Error("faultline-agent failed", "err", err)
		return 1
	}
	return 0
}

// Run runs the agent until ctx ends.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		version.NewCollector("faultline_agent"),
	)
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("create state.dir: %w", err)
	}
	buf, err := buffer.Open(cfg.Buffer, filepath.Join(cfg.StateDir, "buffer"), logger.With("component", "buffer"), reg)
	if err != nil {
		return fmt.Errorf("open buffer: %w", err)
	}
	defer func() {
		if err := buf.Close(); err != nil {
			logger.Error("close buffer", "err", err)
		}
	}()
	sender, err := export.New(cfg.Collector, buf, logger.With("component", "export"), reg)
	if err != nil {
		return err
	}
	pipeline, err := agent.New(cfg.Agent, cfg.StateDir, bufferSink{buf}, logger, reg)
	if err != nil {
		return err
	}
	srv, err := server.New(cfg.Server, logger.With("component", "http"), reg)
	if err != nil {
		return err
	}
	if err := services.StartAndAwaitRunning(ctx, srv); err != nil {
		return err
	}
	defer func() { _ = services.StopAndAwaitTerminated(context.Background(), srv) }()

	pipeCtx, stopPipeline := context.WithCancel(ctx)
	defer stopPipeline()
	sendCtx, stopSender := context.WithCancel(context.Background())
	defer stopSender()
	var wg sync.WaitGroup
	var pipeErr, sendErr error
	wg.Go(func() { sendErr = sender.Run(sendCtx) })
	pipeDone := make(chan struct{})
	go func() { pipeErr = pipeline.Run(pipeCtx); close(pipeDone) }()
	srv.SetReadiness(func() error { return nil })
	logger.Info("faultline-agent started", "collector", cfg.Collector.Endpoint, "state_dir", cfg.StateDir, "logs", cfg.Agent.Logs.Include, "interval", cfg.Agent.Interval)

	select {
	case <-ctx.Done():
		logger.Info("signal received, shutting down")
	case <-pipeDone:
	}
	srv.Draining()
	stopPipeline()
	<-pipeDone
	// The pipeline's last records are in the buffer now; the sender gets a moment to deliver
	// them, and whatever is left goes out after the next start.
	drain, cancel := context.WithTimeout(context.Background(), time.Second)
	for buf.Len() > 0 && drain.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	stopSender()
	wg.Wait()
	logger.Info("faultline-agent stopped", "buffered_entries", buf.Len())
	return errors.Join(pipeErr, sendErr)
}

// bufferSink appends the pipeline's data to the durable buffer, as OTLP export requests.
type bufferSink struct{ buf *buffer.Buffer }

func (s bufferSink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	b, err := export.EncodeLogs(ld)
	if err != nil {
		return err
	}
	_, err = s.buf.Append(buffer.KindLogs, b)
	return err
}

func (s bufferSink) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	b, err := export.EncodeMetrics(md)
	if err != nil {
		return err
	}
	_, err = s.buf.Append(buffer.KindMetrics, b)
	return err
}
