// Package uibench measures how fast the web UI draws what an on-call engineer opens first on
// a large estate: the topology of a few hundred services and a trace of ten thousand spans,
// in Debian's headless Chromium (ui/e2e/bench.mjs) against the real faultline binary.
package uibench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/faultline/faultline/loadtest/bench"
)

// Config is the benchmark's command line.
type Config struct {
	Faultline string
	Script    string
	Services  int
	Spans     int
	Runs      int
}

func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Faultline, "faultline", "bin/faultline", "the faultline binary, built with the UI (make build)")
	f.StringVar(&c.Script, "script", "ui/e2e/bench.mjs", "the browser script (needs ui/node_modules and /usr/bin/chromium)")
	f.IntVar(&c.Services, "services", 200, "instrumented services in the topology")
	f.IntVar(&c.Spans, "spans", 10_000, "spans in the big trace")
	f.IntVar(&c.Runs, "runs", 5, "page loads measured per page, each in a fresh browser context")
}

func (c *Config) Validate() error {
	switch {
	case c.Services < 2:
		return errors.New("-services must be at least 2")
	case c.Spans < 1:
		return errors.New("-spans must be positive")
	case c.Runs < 1:
		return errors.New("-runs must be positive")
	}
	for _, p := range []string{c.Faultline, c.Script} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w (run make build and make ui-deps)", err)
		}
	}
	return nil
}

// PageResult is one page's render times in milliseconds since navigation start, as the app
// itself records them (data-render-ms) once its graph or waterfall is drawn: RenderMS in a
// fresh browser context (nothing cached), the goal's measure, and WarmMS on a reload in the
// same context (code and assets cached, as for a returning user).
type PageResult struct {
	Page     string    `json:"page"`
	Elements int       `json:"elements"`
	RenderMS []float64 `json:"render_ms"`
	WarmMS   []float64 `json:"warm_ms"`
}

// Median and Max summarise the runs (NaN when there are none).
func (p PageResult) Median() float64 { return median(p.RenderMS) }
func (p PageResult) Max() float64    { return maximum(p.RenderMS) }

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	switch {
	case len(s) == 0:
		return math.NaN()
	case len(s)%2 == 1:
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maximum(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return slices.Max(v)
}

// Run starts faultline, sends the topology's traffic and the big trace, and runs the browser.
func Run(ctx context.Context, cfg Config, log io.Writer) ([]PageResult, error) {
	dir, err := os.MkdirTemp("", "uibench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f, err := bench.StartFaultline(ctx, cfg.Faultline, filepath.Join(dir, "data"), filepath.Join(dir, "faultline.log"),
		[]string{"-agent.enabled=false", "-servicegraph.flush-interval=1s", "-servicegraph.wait=2s"}, time.Minute)
	if err != nil {
		return nil, err
	}
	defer func() { _, _ = f.Stop(10 * time.Second) }()

	conn, err := grpc.NewClient(f.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	send := func(tds []ptrace.Traces) error {
		for _, td := range tds {
			if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		}
		return nil
	}
	now := time.Now()
	if err := send(Layered(cfg.Services, 20, 2, 5, now)); err != nil {
		return nil, err
	}
	traceID, batches := BigTrace(cfg.Spans, 20, 2000, now)
	if err := send(batches); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "sent %d services' traffic and a %d-span trace; waiting for the service graph\n", cfg.Services, cfg.Spans)
	if err := waitFor(ctx, time.Minute, func() (bool, error) {
		var topo struct{ Nodes []json.RawMessage }
		if err := getJSON(ctx, f.URL(fmt.Sprintf("/api/v1/topology?start=%d", time.Now().Add(-10*time.Minute).Unix())), &topo); err != nil {
			return false, err
		}
		var tr struct{ Spans []json.RawMessage }
		if err := getJSON(ctx, f.URL("/api/v1/traces/"+traceID), &tr); err != nil {
			return false, nil //nolint:nilerr // 404 until the last batch is stored
		}
		return len(topo.Nodes) >= cfg.Services && len(tr.Spans) == cfg.Spans, nil
	}); err != nil {
		return nil, fmt.Errorf("the data never showed up: %w", err)
	}

	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", cfg.Script) //nolint:gosec // the operator's own script path
	cmd.Env = append(os.Environ(), "FAULTLINE_URL=http://"+f.HTTPAddr, "TRACE_ID="+traceID, fmt.Sprintf("RUNS=%d", cfg.Runs))
	cmd.Stdout, cmd.Stderr = &out, log
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Script, err)
	}
	var res []PageResult
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p PageResult
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("read %s's answer: %w", cfg.Script, err)
		}
		res = append(res, p)
	}
	return res, nil
}

func getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Goal is the bound for a page: the 200-service topology under 1 s, the 10,000-span
// trace under 2 s.
func Goal(page string) float64 {
	if page == "trace" {
		return 2000
	}
	return 1000
}

// WriteReport prints one line per page: median and worst render time against its goal, then
// the cached reloads'.
func WriteReport(w io.Writer, res []PageResult) {
	fmt.Fprintf(w, "| page | elements | runs | median ms | max ms | goal ms | cached median / max ms |\n|---|---|---|---|---|---|---|\n")
	for _, p := range res {
		mark := "✔"
		if !(p.Max() < Goal(p.Page)) { // NaN (no runs) fails too
			mark = "✘"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | < %.0f %s | %s / %s |\n", p.Page, p.Elements, len(p.RenderMS),
			bench.Fixed(p.Median(), 0), bench.Fixed(p.Max(), 0), Goal(p.Page), mark,
			bench.Fixed(median(p.WarmMS), 0), bench.Fixed(maximum(p.WarmMS), 0))
	}
}

// Main is the uibench command.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("uibench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "uibench: %v\n", err)
		return 2
	}
	res, err := Run(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "uibench: %v\n", err)
		return 1
	}
	WriteReport(stdout, res)
	return 0
}
