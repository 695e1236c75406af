// Package agentbench is the agent cost benchmark behind loadtest/cmd/agentbench: it starts the
// real faultline and faultline-agent binaries on 127.0.0.1, has the agent tail a file that it
// writes at a steady rate while collecting host metrics, and reports the agent's CPU and RSS
// and the lines that reached faultline, beside Debian's prometheus-node-exporter measured the
// same way on the same machine when it is installed.
package agentbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/faultline/faultline/loadtest/bench"
)

// DefaultNodeExporter is where Debian's prometheus-node-exporter package installs the binary.
const DefaultNodeExporter = "/usr/bin/prometheus-node-exporter"

// maxRun bounds warm-up plus duration: the bench is a measurement, not a soak test.
const maxRun = time.Hour

// Config is the bench's configuration, all from flags.
type Config struct {
	Agent         string
	AgentArgs     bench.StringList
	Faultline     string
	FaultlineArgs bench.StringList
	NodeExporter  string
	Rate          int
	Format        string
	LinesPerWrite int
	Duration      time.Duration
	Warmup        time.Duration
	Interval      time.Duration
	Sample        time.Duration
	Drain         time.Duration
	TmpDir        string
	Keep          bool
	ReadyTimeout  time.Duration
	StopGrace     time.Duration
}

// RegisterFlags registers the bench's flags and sets their defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Agent, "agent", "bin/faultline-agent", "The faultline-agent binary to measure (go build -o bin/faultline-agent ./cmd/faultline-agent).")
	f.Var(&c.AgentArgs, "agent.arg", "Extra flag passed to faultline-agent, e.g. -agent.arg=-host.name=bench (repeatable).")
	f.StringVar(&c.Faultline, "faultline", "bin/faultline", "The faultline binary that receives the agent's data (go build -o bin/faultline ./cmd/faultline).")
	f.Var(&c.FaultlineArgs, "faultline.arg", "Extra flag passed to faultline (repeatable).")
	f.StringVar(&c.NodeExporter, "node-exporter", DefaultNodeExporter, "node_exporter binary to measure beside the agent when it exists (Debian: apt-get install prometheus-node-exporter); empty skips it.")
	f.IntVar(&c.Rate, "rate", 1000, "Log lines written per second to the file the agent tails.")
	f.StringVar(&c.Format, "format", FormatText, "Log line format: text (about 120 bytes a line) or json (about 200).")
	f.IntVar(&c.LinesPerWrite, "lines-per-write", 1, "Lines per write call; 1 is an unbuffered logger, the most wake-ups for the tailer.")
	f.DurationVar(&c.Duration, "duration", 60*time.Second, "Measured window, after -warmup.")
	f.DurationVar(&c.Warmup, "warmup", 10*time.Second, "Lines are written but nothing is measured for this long first.")
	f.DurationVar(&c.Interval, "interval", 10*time.Second, "The agent's -interval (host metrics) and how often node_exporter is scraped.")
	f.DurationVar(&c.Sample, "sample", time.Second, "How often RSS is sampled for the average.")
	f.DurationVar(&c.Drain, "drain", 30*time.Second, "After the last line, wait up to this long for faultline to have stored every line written.")
	f.StringVar(&c.TmpDir, "tmpdir", "", "Parent of the temporary dir (faultline's data, the agent's state, the tailed file, logs); default the system temp dir.")
	f.BoolVar(&c.Keep, "keep", false, "Keep the temporary dir instead of removing it (it is kept anyway when the run fails).")
	f.DurationVar(&c.ReadyTimeout, "ready-timeout", 60*time.Second, "How long faultline, the agent and node_exporter may take to answer 200 on /ready (/metrics for node_exporter).")
	f.DurationVar(&c.StopGrace, "stop-grace", 30*time.Second, "How long each process may take to exit after SIGTERM before SIGKILL.")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Agent == "" || c.Faultline == "" {
		errs = append(errs, errors.New("-agent and -faultline are required"))
	}
	if c.Rate < 1 || c.Rate > 1_000_000 {
		errs = append(errs, fmt.Errorf("-rate must be between 1 and 1000000 lines/s, got %d", c.Rate))
	}
	if _, err := NewLineGenerator(c.Format); err != nil {
		errs = append(errs, fmt.Errorf("-format: %w", err))
	}
	if c.LinesPerWrite < 1 {
		errs = append(errs, errors.New("-lines-per-write must be at least 1"))
	}
	if c.Duration <= 0 || c.Warmup < 0 || c.Duration+c.Warmup > maxRun {
		errs = append(errs, fmt.Errorf("-duration must be positive and -warmup not negative, together at most %s", maxRun))
	}
	if c.Interval < time.Second {
		errs = append(errs, errors.New("-interval must be at least 1s (the agent's minimum)"))
	}
	if c.Sample <= 0 || c.Sample > c.Duration {
		errs = append(errs, errors.New("-sample must be positive and at most -duration"))
	}
	if c.Drain < 0 {
		errs = append(errs, errors.New("-drain must not be negative"))
	}
	if c.ReadyTimeout <= 0 || c.StopGrace <= 0 {
		errs = append(errs, errors.New("-ready-timeout and -stop-grace must be positive"))
	}
	return errors.Join(errs...)
}

// checkBinaries fails before anything starts when a binary under test is missing.
func checkBinaries(cfg Config) error {
	for _, b := range []struct{ path, build string }{
		{cfg.Agent, "go build -o bin/faultline-agent ./cmd/faultline-agent"},
		{cfg.Faultline, "go build -o bin/faultline ./cmd/faultline"},
	} {
		if _, err := os.Stat(b.path); err != nil {
			return fmt.Errorf("%w (build it with %s)", err, b.build)
		}
	}
	return nil
}

// Run runs the whole bench and returns its figures; the error is a failure of the harness or
// of the run (a process would not start or died, the writer failed), never a missed goal.
// The temporary dir is removed afterwards unless cfg.Keep or the run failed.
func Run(ctx context.Context, cfg Config, logger *slog.Logger) (res *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkBinaries(cfg); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(cfg.TmpDir, "agentbench-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	defer func() {
		if err != nil || cfg.Keep {
			logger.Info("temporary dir kept", "dir", tmp)
			if err != nil {
				err = fmt.Errorf("%w (logs in %s)", err, tmp)
			}
			return
		}
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			logger.Warn("remove temp dir", "dir", tmp, "err", rmErr)
		}
	}()
	r := &runner{cfg: cfg, tmp: tmp, logger: logger, clk: bench.ClockTicks()}
	defer r.killAll()
	return r.run(ctx)
}

// runner holds one run's processes so that a failure anywhere can kill them all.
type runner struct {
	cfg    Config
	tmp    string
	logger *slog.Logger
	clk    uint64

	fl    *bench.Faultline
	agent *Process
	ne    *Process
	neURL string
}

func (r *runner) killAll() {
	for _, p := range []*Process{r.ne, r.agent} {
		if p != nil {
			p.Kill()
		}
	}
	if r.fl != nil && !r.fl.Exited() {
		_, _ = r.fl.Stop(5 * time.Second)
	}
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	res := &Result{
		Rate: cfg.Rate, Format: cfg.Format, LinesPerWrite: cfg.LinesPerWrite, Interval: cfg.Interval,
		Warmup: cfg.Warmup, NodeExporterPath: cfg.NodeExporter,
	}
	var err error
	r.fl, err = bench.StartFaultline(ctx, cfg.Faultline, filepath.Join(r.tmp, "faultline-data"), filepath.Join(r.tmp, "faultline.log"), cfg.FaultlineArgs, cfg.ReadyTimeout)
	if err != nil {
		return nil, err
	}
	r.logger.Info("faultline ready", "http", r.fl.HTTPAddr, "otlp_grpc", r.fl.GRPCAddr)

	// The file exists, empty, before the agent starts, so the agent finds it at once and every
	// line it is to deliver is written while it runs.
	logDir := filepath.Join(r.tmp, "logs")
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(logDir, "checkout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // in the bench's temp dir
	if err != nil {
		return nil, fmt.Errorf("create tailed file: %w", err)
	}
	defer func() { _ = lf.Close() }()

	if err := r.startAgent(ctx, filepath.Join(logDir, "*.log")); err != nil {
		return nil, err
	}
	if err := r.startNodeExporter(ctx); err != nil {
		return nil, err
	}

	stored0, _, err := r.storedLogs(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.measure(ctx, lf, stored0, res); err != nil {
		return nil, err
	}
	if err := r.drain(ctx, stored0, res); err != nil {
		return nil, err
	}
	if res.DeliveredKnown && res.Delivered > res.Written {
		res.Warnings = append(res.Warnings, fmt.Sprintf("faultline stored %d log records but the bench wrote %d lines: something else sends it logs (an in-process agent of faultline -target=all?); turn that off with -faultline.arg", res.Delivered, res.Written))
	}
	r.stopAll(res)
	return res, nil
}

func (r *runner) startAgent(ctx context.Context, include string) error {
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	args := append([]string{
		"-collector.endpoint=" + r.fl.GRPCAddr,
		"-logs.include=" + include,
		"-state.dir=" + filepath.Join(r.tmp, "agent-state"),
		"-interval=" + r.cfg.Interval.String(),
		"-http.addr=" + addr,
	}, r.cfg.AgentArgs...)
	if r.agent, err = StartProcess("faultline-agent", r.cfg.Agent, args, filepath.Join(r.tmp, "agent.log")); err != nil {
		return err
	}
	if err := r.agent.WaitHTTP(ctx, "http://"+addr+"/ready", r.cfg.ReadyTimeout); err != nil {
		return fmt.Errorf("faultline-agent not ready: %w\n%s", err, r.agent.LogTail(4096))
	}
	r.logger.Info("faultline-agent ready", "http", addr, "pid", r.agent.PID())
	return nil
}

// startNodeExporter starts node_exporter when the binary exists; its absence is no error.
func (r *runner) startNodeExporter(ctx context.Context) error {
	if r.cfg.NodeExporter == "" {
		return nil
	}
	if _, err := os.Stat(r.cfg.NodeExporter); err != nil {
		r.logger.Info("node_exporter not found, measuring the agent alone; install with: sudo apt-get install prometheus-node-exporter", "path", r.cfg.NodeExporter)
		return nil
	}
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	if r.ne, err = StartProcess("node_exporter", r.cfg.NodeExporter, []string{"--web.listen-address=" + addr}, filepath.Join(r.tmp, "node_exporter.log")); err != nil {
		return err
	}
	r.neURL = "http://" + addr + "/metrics"
	if err := r.ne.WaitHTTP(ctx, r.neURL, r.cfg.ReadyTimeout); err != nil {
		return fmt.Errorf("node_exporter not ready: %w\n%s", err, r.ne.LogTail(4096))
	}
	r.logger.Info("node_exporter ready", "http", addr, "pid", r.ne.PID())
	return nil
}

// storedLogs reads faultline_logs_stored_total; ok is false when faultline does not export it.
func (r *runner) storedLogs(ctx context.Context) (int64, bool, error) {
	m, err := r.fl.Metrics(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("read faultline metrics: %w", err)
	}
	v, ok := m.Sum(bench.MetricLogsStored)
	return int64(v), ok, nil
}

// measure writes lines for warm-up plus duration, scraping node_exporter meanwhile, and
// meters the processes from the end of the warm-up until the writer stops.
func (r *runner) measure(ctx context.Context, lf io.Writer, stored0 int64, res *Result) error {
	gen, err := NewLineGenerator(r.cfg.Format)
	if err != nil {
		return err
	}
	lw := &LineWriter{W: lf, Gen: gen, Rate: r.cfg.Rate, LinesPerWrite: r.cfg.LinesPerWrite}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	if r.ne != nil {
		tr := &http.Transport{}
		scraper := Scraper{Client: &http.Client{Timeout: r.cfg.Interval, Transport: tr}, URL: r.neURL, Every: r.cfg.Interval}
		wg.Go(func() {
			res.NodeExporterScrapes = scraper.Run(runCtx)
			tr.CloseIdleConnections()
		})
	}
	writeDone := make(chan struct{})
	var writeErr error
	r.logger.Info("writing", "rate", r.cfg.Rate, "format", r.cfg.Format, "warmup", r.cfg.Warmup, "duration", r.cfg.Duration)
	go func() {
		defer close(writeDone)
		_, writeErr = lw.Run(runCtx, r.cfg.Warmup+r.cfg.Duration)
	}()
	defer func() { cancel(); <-writeDone }()

	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-writeDone:
		return fmt.Errorf("log writer stopped during the warm-up: %w", writeErr)
	case <-time.After(r.cfg.Warmup):
	}
	if err := r.alive(); err != nil {
		return err
	}
	written1 := lw.Written()
	stored1, _, err := r.storedLogs(ctx)
	if err != nil {
		return err
	}
	meters := map[string]*Meter{}
	defer func() {
		for _, m := range meters {
			_, _ = m.Stop()
		}
	}()
	for name, pid := range r.pids() {
		m, err := StartMeter(pid, r.cfg.Sample, r.clk)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		meters[name] = m
	}
	r.logger.Info("warm-up over, measuring", "window", r.cfg.Duration)

	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-writeDone:
	}
	if writeErr != nil {
		return writeErr
	}
	usages := map[string]Usage{}
	for name, m := range meters {
		u, err := m.Stop()
		delete(meters, name)
		if err != nil {
			return fmt.Errorf("%s during the window: %w%s", name, err, r.exitNote(name))
		}
		usages[name] = u
	}
	stored2, known, err := r.storedLogs(ctx)
	if err != nil {
		return err
	}
	res.Agent, res.Faultline = usages["faultline-agent"], usages["faultline"]
	if u, ok := usages["node_exporter"]; ok {
		res.NodeExporter = &u
	}
	res.WindowWritten = lw.Written() - written1
	res.WindowDelivered = stored2 - stored1
	res.Written, res.Bytes = lw.Written(), lw.Bytes()
	res.DeliveredKnown = known
	res.Delivered = stored2 - stored0
	return r.alive()
}

func (r *runner) pids() map[string]int {
	pids := map[string]int{"faultline-agent": r.agent.PID(), "faultline": r.fl.PID()}
	if r.ne != nil {
		pids["node_exporter"] = r.ne.PID()
	}
	return pids
}

// alive fails when a process under test has exited, with the tail of its log.
func (r *runner) alive() error {
	for _, p := range []*Process{r.agent, r.ne} {
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited during the run%s", p.Name, r.exitNote(p.Name))
		}
	}
	if r.fl.Exited() {
		return fmt.Errorf("faultline exited during the run\n%s", r.fl.LogTail(4096))
	}
	return nil
}

func (r *runner) exitNote(name string) string {
	switch {
	case name == "faultline-agent" && r.agent.Exited():
		return "\n" + r.agent.LogTail(4096)
	case name == "node_exporter" && r.ne != nil && r.ne.Exited():
		return "\n" + r.ne.LogTail(4096)
	case name == "faultline" && r.fl.Exited():
		return "\n" + r.fl.LogTail(4096)
	}
	return ""
}

// drain waits until faultline has stored as many lines as were written, or cfg.Drain passes.
func (r *runner) drain(ctx context.Context, stored0 int64, res *Result) error {
	if !res.DeliveredKnown {
		return nil
	}
	start := time.Now()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for res.Delivered < res.Written && time.Since(start) < r.cfg.Drain {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		stored, _, err := r.storedLogs(ctx)
		if err != nil {
			return err
		}
		res.Delivered = stored - stored0
	}
	res.Drain = time.Since(start)
	if res.Delivered < res.Written {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d lines not stored by faultline %s after the last was written", res.Written-res.Delivered, res.Written, r.cfg.Drain))
	}
	return nil
}

// stopAll stops node_exporter, the agent and faultline with SIGTERM; an unclean exit is a
// warning, not a failed run: the figures were taken before.
func (r *runner) stopAll(res *Result) {
	for _, p := range []*Process{r.ne, r.agent} {
		if p == nil {
			continue
		}
		if how, err := p.Stop(r.cfg.StopGrace); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s (%v)", p.Name, how, err))
		}
	}
	if how, err := r.fl.Stop(r.cfg.StopGrace); err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("faultline: %s (%v)", how, err))
	}
}

// Main is the whole command: flags, run, table on stdout. It returns the exit code: 0 when
// the run was measured (goals met or not), 1 when the harness or the run failed, 2 on bad
// flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agentbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "agentbench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := cfg.Validate(); err != nil {
		_, _ = fmt.Fprintf(stderr, "agentbench: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	res, err := Run(ctx, cfg, logger)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "agentbench: %v\n", err)
		return 1
	}
	if err := res.WriteMarkdown(stdout); err != nil {
		_, _ = fmt.Fprintf(stderr, "agentbench: %v\n", err)
		return 1
	}
	return 0
}
