package rca

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/faultline/faultline/loadtest/bench"
	"github.com/faultline/faultline/loadtest/sim"
)

// Config is the rca command's settings.
type Config struct {
	Suite        string
	FaultlineURL string
	OTLPEndpoint string
	Token        string
	Only         string
	JSON         string
	PollInterval time.Duration
	Logs         bool
	// FaultlineBin, when set, is the faultline binary the harness starts itself, one process
	// per worker, instead of using FaultlineURL and OTLPEndpoint.
	FaultlineBin   string
	FaultlineFlags bench.StringList
	Parallel       int
	Keep           bool
}

// RegisterFlags registers the flags and sets the defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Suite, "suite", "loadtest/suites/quick.yaml", "suite file (YAML) listing the scenarios")
	f.StringVar(&c.FaultlineURL, "faultline.url", "http://127.0.0.1:7070", "Faultline's HTTP API (loopback only)")
	f.StringVar(&c.OTLPEndpoint, "otlp.endpoint", "127.0.0.1:4317", "Faultline's OTLP/gRPC endpoint the simulator sends to (loopback only)")
	f.StringVar(&c.Token, "token", "", "bearer token for Faultline's HTTP API and OTLP endpoint")
	f.StringVar(&c.Only, "only", "", "run only the scenarios whose name matches this regular expression")
	f.StringVar(&c.JSON, "json", "", "also write the report as JSON to this file")
	f.BoolVar(&c.Logs, "sim.logs", false, "the simulated services also send OTLP logs (off: Faultline's collector does not take OTLP/gRPC logs yet)")
	f.DurationVar(&c.PollInterval, "poll", DefaultPollInterval, "time between /api/v1/rca queries during a fault window (detection time); 0s: no polling")
	f.StringVar(&c.FaultlineBin, "faultline.bin", "", "start Faultline from this binary (built from ./cmd/faultline, e.g. bin/faultline by make build) instead of using -faultline.url and -otlp.endpoint: "+
		"one process per worker on free 127.0.0.1 ports, each with its own temporary data dir kept across that worker's scenarios and its log in faultline.log beside it, stopped with SIGTERM at the end")
	f.Var(&c.FaultlineFlags, "faultline.flag", "extra flag for the Faultline processes -faultline.bin starts, e.g. -faultline.flag=-servicegraph.flush-interval=5s (repeatable)")
	f.IntVar(&c.Parallel, "parallel", 1, "run this many scenarios at once, each worker on its own Faultline (more than 1 needs -faultline.bin); each topology keeps to its own workers (a Faultline watches one application) and the report keeps the suite's order. "+
		"A cpu scenario burns CPU for the whole machine, so cpu scenarios run after all the others, one at a time")
	f.BoolVar(&c.Keep, "keep", false, "keep the temporary dir of the Faultline processes -faultline.bin starts (data and faultline.log), which is otherwise removed unless a process failed")
}

// Validate checks the settings; the harness talks only to 127.0.0.1.
func (c *Config) Validate() error {
	switch {
	case c.Parallel < 0:
		return fmt.Errorf("-parallel=%d: must not be negative (0 and 1: one at a time)", c.Parallel)
	case c.FaultlineBin == "" && c.Parallel > 1:
		return fmt.Errorf("-parallel=%d needs -faultline.bin: each worker runs its own Faultline", c.Parallel)
	case c.FaultlineBin == "" && len(c.FaultlineFlags) > 0:
		return errors.New("-faultline.flag applies only with -faultline.bin")
	case c.FaultlineBin == "" && c.Keep:
		return errors.New("-keep applies only with -faultline.bin")
	case c.FaultlineBin != "":
		return c.validateCommon() // -faultline.url and -otlp.endpoint are not used
	}
	u, err := url.Parse(c.FaultlineURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-faultline.url=%q: want http://HOST:PORT", c.FaultlineURL)
	}
	if !loopbackHost(u.Hostname()) {
		return fmt.Errorf("-faultline.url=%q: %q is not a loopback address; this harness only talks to 127.0.0.1, ::1 or localhost", c.FaultlineURL, u.Hostname())
	}
	host, port, err := net.SplitHostPort(c.OTLPEndpoint)
	if err != nil || port == "" {
		return fmt.Errorf("-otlp.endpoint=%q: want HOST:PORT", c.OTLPEndpoint)
	}
	if !loopbackHost(host) {
		return fmt.Errorf("-otlp.endpoint=%q: %q is not a loopback address; this harness only talks to 127.0.0.1, ::1 or localhost", c.OTLPEndpoint, host)
	}
	return c.validateCommon()
}

// validateCommon checks the settings both modes use.
func (c *Config) validateCommon() error {
	if c.Only != "" {
		if _, err := regexp.Compile(c.Only); err != nil {
			return fmt.Errorf("-only=%q: %w", c.Only, err)
		}
	}
	if c.PollInterval < 0 {
		return fmt.Errorf("-poll=%v: must not be negative", c.PollInterval)
	}
	if strings.ContainsAny(c.Token, "\r\n") {
		return errors.New("-token: must be one line")
	}
	return nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Select returns the scenarios whose name matches the regular expression only (all when
// only is empty).
func Select(scenarios []sim.Scenario, only string) ([]sim.Scenario, error) {
	if only == "" {
		return scenarios, nil
	}
	re, err := regexp.Compile(only)
	if err != nil {
		return nil, fmt.Errorf("-only: %w", err)
	}
	var out []sim.Scenario
	for _, sc := range scenarios {
		if re.MatchString(sc.Name) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// Main is the "faultline-loadtest rca" command: it runs a suite against a running Faultline,
// or against Faultline processes of its own (-faultline.bin), and prints the report on
// stdout, progress on stderr. It returns 0 when every scenario ran (whatever the scores), 1
// when a simulator run failed, Faultline was unreachable, would not start or stop, or the
// run was interrupted, 2 on bad flags or a bad suite.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr, 1)
}

// run is Main with the simulator's time scale (sim.Options.TimeScale), which tests shrink
// to run a suite in seconds; the suite's minimum fault start (Lookback) is in real time.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, timeScale float64) int {
	fs := flag.NewFlagSet("rca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "rca: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := cfg.Validate(); err != nil {
		_, _ = fmt.Fprintf(stderr, "rca: %v\n", err)
		return 2
	}
	if cfg.FaultlineBin != "" {
		bin, err := filepath.Abs(cfg.FaultlineBin)
		if err == nil {
			_, err = os.Stat(bin)
		}
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "rca: -faultline.bin: %v (build it first, e.g. make build)\n", err)
			return 2
		}
		cfg.FaultlineBin = bin
	}
	suite, err := LoadSuite(cfg.Suite)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "rca: %v\n", err)
		return 2
	}
	scenarios, err := Select(suite.Scenarios, cfg.Only)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "rca: %v\n", err)
		return 2
	}
	if len(scenarios) == 0 {
		_, _ = fmt.Fprintf(stderr, "rca: no scenario in %s matches -only=%q\n", cfg.Suite, cfg.Only)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var headers map[string]string
	if cfg.Token != "" {
		headers = map[string]string{"authorization": "Bearer " + cfg.Token}
	}
	poll := cfg.PollInterval
	if poll == 0 {
		poll = -1 // the flag's 0s means no polling; the Runner's zero means the default
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	newRunner := func(baseURL string, simulator RunFunc, logger *slog.Logger) *Runner {
		return &Runner{
			RunScenario:  simulator,
			Faultline:    &Client{BaseURL: baseURL, Token: cfg.Token, HTTP: hc},
			PollInterval: poll,
			Logger:       logger,
			TimeScale:    timeScale,
		}
	}

	var (
		target  string
		results []Result
		runErr  error
	)
	if cfg.FaultlineBin == "" {
		target = strings.TrimRight(cfg.FaultlineURL, "/")
		runner := newRunner(target, newSimulator(cfg.OTLPEndpoint, headers, cfg.Logs, timeScale, logger), logger)
		if err := checkReachable(ctx, runner.Faultline); err != nil {
			_, _ = fmt.Fprintf(stderr, "rca: Faultline is not reachable at %s: %v\n", target, err)
			return 1
		}
		logger.Info("suite start", "suite", cfg.Suite, "scenarios", len(scenarios), "faultline", target, "otlp", cfg.OTLPEndpoint)
		results, runErr = runner.Run(ctx, scenarios)
	} else {
		n := min(max(cfg.Parallel, 1), len(scenarios))
		target = fmt.Sprintf("%s (%d processes)", cfg.FaultlineBin, n)
		logger.Info("starting faultline", "bin", cfg.FaultlineBin, "processes", n)
		fl, err := startFleet(ctx, cfg.FaultlineBin, cfg.FaultlineFlags, n, cfg.Keep, logger)
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "rca: start faultline: %v\n", err)
			return 1
		}
		sched := &Scheduler{Logger: logger}
		for _, w := range fl.workers {
			wl := logger.With("worker", w.name)
			sched.Workers = append(sched.Workers, newRunner(w.fl.URL(""), w.simulator(headers, cfg.Logs, timeScale, wl), wl))
		}
		logger.Info("suite start", "suite", cfg.Suite, "scenarios", len(scenarios), "workers", n)
		results, runErr = sched.Run(ctx, scenarios)
		if !fl.stop(ctx.Err() != nil) && runErr == nil {
			runErr = errors.New("a faultline process did not stop cleanly")
		}
	}

	report := NewReport(cfg.Suite, target, results)
	if err := report.WriteText(stdout); err != nil {
		_, _ = fmt.Fprintf(stderr, "rca: %v\n", err)
		return 1
	}
	if cfg.JSON != "" {
		if err := report.WriteJSON(cfg.JSON); err != nil {
			_, _ = fmt.Fprintf(stderr, "rca: %v\n", err)
			return 1
		}
	}
	switch {
	case runErr != nil && len(results) < len(scenarios):
		_, _ = fmt.Fprintf(stderr, "rca: interrupted after %d of %d scenarios: %v\n", len(results), len(scenarios), runErr)
		return 1
	case runErr != nil:
		_, _ = fmt.Fprintf(stderr, "rca: %v\n", runErr)
		return 1
	case report.Summary.Failed > 0:
		_, _ = fmt.Fprintf(stderr, "rca: %d of %d simulator runs failed\n", report.Summary.Failed, len(results))
		return 1
	}
	return 0
}

// checkReachable asks GET /ready; any HTTP answer will do (a Faultline still starting is
// the operator's business), a connection error will not.
func checkReachable(ctx context.Context, c *Client) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/ready", http.NoBody)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return errors.New(requestProblem(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}
