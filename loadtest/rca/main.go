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
	"regexp"
	"strings"
	"time"

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
}

// Validate checks the settings; the harness talks only to 127.0.0.1.
func (c *Config) Validate() error {
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

// Main is the "faultline-loadtest rca" command: it runs a suite against a running Faultline
// and prints the report on stdout, progress on stderr. It returns 0 when every scenario ran
// (whatever the scores), 1 when a simulator run failed, Faultline was unreachable or the run
// was interrupted, 2 on bad flags or a bad suite.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
	base := strings.TrimRight(cfg.FaultlineURL, "/")
	client := &Client{BaseURL: base, Token: cfg.Token, HTTP: &http.Client{Timeout: 30 * time.Second}}
	if err := checkReachable(ctx, client); err != nil {
		_, _ = fmt.Fprintf(stderr, "rca: Faultline is not reachable at %s: %v\n", base, err)
		return 1
	}
	var headers map[string]string
	if cfg.Token != "" {
		headers = map[string]string{"authorization": "Bearer " + cfg.Token}
	}
	poll := cfg.PollInterval
	if poll == 0 {
		poll = -1 // the flag's 0s means no polling; the Runner's zero means the default
	}
	runner := &Runner{
		RunScenario:  newSimulator(cfg.OTLPEndpoint, headers, cfg.Logs, logger),
		Faultline:    client,
		PollInterval: poll,
		Logger:       logger,
	}
	logger.Info("suite start", "suite", cfg.Suite, "scenarios", len(scenarios), "faultline", base, "otlp", cfg.OTLPEndpoint)
	results, runErr := runner.Run(ctx, scenarios)
	report := NewReport(cfg.Suite, base, results)
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
	case runErr != nil:
		_, _ = fmt.Fprintf(stderr, "rca: interrupted after %d of %d scenarios: %v\n", len(results), len(scenarios), runErr)
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
