package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var c Config
	c.RegisterFlags(fs)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if c.Generator != GeneratorTelemetrygen {
		t.Fatalf("default generator = %q, want telemetrygen", c.Generator)
	}
	replay := c
	replay.Generator = GeneratorReplay
	if err := replay.Validate(); err != nil {
		t.Fatalf("replay with defaults invalid: %v", err)
	}
	if c.Signal != SignalTraces || c.SimTopology != "shop" || c.SimRate != 100 || c.SimSeed != 1 || c.QueriesUnderLoad != 5 || c.Service != "" || c.QueryService() != "telemetrygen" {
		t.Fatalf("new defaults = %+v", c)
	}
	for _, ok := range []func(*Config){
		func(c *Config) { c.Generator = GeneratorSim },
		func(c *Config) { c.Signal = SignalLogs },
		func(c *Config) { c.Signal, c.Spans = SignalMetrics, 1000 },
		func(c *Config) { c.QueriesUnderLoad = 0 },
	} {
		cc := c
		ok(&cc)
		if err := cc.Validate(); err != nil {
			t.Errorf("Validate refused %+v: %v", cc, err)
		}
	}
	sim := c
	sim.Generator = GeneratorSim
	if sim.QueryService() != "frontend" {
		t.Errorf("sim searches for %q, want frontend", sim.QueryService())
	}
	sim.Service = "checkout"
	if sim.QueryService() != "checkout" {
		t.Errorf("-service ignored: %q", sim.QueryService())
	}
	if c.Faultline != "bin/faultline" || c.Workers != 4 || c.Senders != 2 || c.BatchSize != 2048 || c.Rate != 0 || c.Duration != 30*time.Second || c.Spans != 0 || c.Lookups != 200 || c.Searches != 50 {
		t.Fatalf("defaults = %+v", c)
	}
	err := fs.Parse([]string{
		"-spans=10000000", "-workers=2", "-faultline.arg=-spanstore.retention=1h", "-faultline.arg=-log.level=warn",
		"-signal=logs", "-sim.topology=chain5", "-sim.rate=50", "-sim.seed=7", "-queries-under-load=2.5",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Signal != SignalLogs || c.SimTopology != "chain5" || c.SimRate != 50 || c.SimSeed != 7 || c.QueriesUnderLoad != 2.5 {
		t.Fatalf("parsed = %+v", c)
	}
	if c.Spans != 10_000_000 || c.Workers != 2 || !slices.Equal(c.FaultlineArgs, []string{"-spanstore.retention=1h", "-log.level=warn"}) {
		t.Fatalf("parsed = %+v", c)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Workers = 0 },
		func(c *Config) { c.Spans, c.Duration = 0, 0 },
		func(c *Config) { c.Spans = -1 },
		func(c *Config) { c.Faultline = "" },
		func(c *Config) { c.Settle = 0 },
		func(c *Config) { c.Senders = 0 },
		func(c *Config) { c.Rate = -1 },
		func(c *Config) { c.Generator = "tracegen" },
		func(c *Config) { c.Generator, c.Rate = GeneratorReplay, 10 },
		func(c *Config) { c.Generator, c.TelemetrygenArgs = GeneratorReplay, StringList{"--child-spans=5"} },
		func(c *Config) { c.Generator, c.BatchSize = GeneratorReplay, 1 },
		func(c *Config) { c.Signal = "profiles" },
		func(c *Config) { c.Generator, c.Signal = GeneratorReplay, SignalLogs },
		func(c *Config) { c.Generator, c.Signal = GeneratorSim, SignalMetrics },
		func(c *Config) { c.Generator, c.Rate = GeneratorSim, 10 },
		func(c *Config) { c.Generator, c.Spans = GeneratorSim, 1000 },
		func(c *Config) { c.Generator, c.SimRate = GeneratorSim, 0 },
		func(c *Config) { c.Generator, c.SimTopology = GeneratorSim, "" },
		func(c *Config) { c.Generator, c.TelemetrygenArgs = GeneratorSim, StringList{"--child-spans=5"} },
		func(c *Config) { c.QueriesUnderLoad = -1 },
	} {
		cc := c
		bad(&cc)
		if cc.Validate() == nil {
			t.Errorf("Validate accepted %+v", cc)
		}
	}
}

func TestTelemetrygenArgs(t *testing.T) {
	run := TelemetrygenRun{Endpoint: "127.0.0.1:4317", Workers: 4, Rate: 2500.5, BatchSize: 512, Duration: 30 * time.Second, Extra: []string{"--service=telemetrygen", "--child-spans=5"}}
	want := []string{"traces", "--otlp-endpoint=127.0.0.1:4317", "--otlp-insecure", "--workers=4", "--rate=2500.5", "--duration=30s", "--allow-export-failures", "--batch-size=512", "--service=telemetrygen", "--child-spans=5"}
	if got := run.Args(); !slices.Equal(got, want) {
		t.Fatalf("Args =\n%q\nwant\n%q", got, want)
	}
}

func TestTelemetrygenArgsSignals(t *testing.T) {
	run := TelemetrygenRun{Signal: SignalLogs, Endpoint: "127.0.0.1:4317", Workers: 1, BatchSize: 2048, Duration: 10 * time.Second, StopOnExportFailure: true}
	want := []string{"logs", "--otlp-endpoint=127.0.0.1:4317", "--otlp-insecure", "--workers=1", "--rate=0", "--duration=10s", "--batch-size=2048"}
	if got := run.Args(); !slices.Equal(got, want) {
		t.Fatalf("Args =\n%q\nwant\n%q", got, want)
	}
	run.Signal, run.StopOnExportFailure = SignalMetrics, false
	if got := run.Args(); got[0] != "metrics" || !slices.Contains(got, "--allow-export-failures") {
		t.Fatalf("metrics Args = %q", got)
	}
}

func TestMainFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-signal=logs", "-generator=replay"},
		{"-generator=sim", "-spans=5"},
		{"-generator=nope"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, &stdout, &stderr, nil); code != 2 || stdout.Len() != 0 {
			t.Errorf("Main(%q) = %d, stdout %q; want 2 and no table", args, code, stdout.String())
		}
	}
	// -generator=sim without a simulator wired in fails before starting anything.
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-generator=sim", "-faultline=" + os.Args[0]}, &stdout, &stderr, nil)
	if code != 1 || !strings.Contains(stderr.String(), "no simulator wired in") {
		t.Errorf("Main(sim, nil runner) = %d, stderr %q", code, stderr.String())
	}
}

func TestSplitWorkers(t *testing.T) {
	for _, tc := range []struct {
		workers, senders int
		want             []int
	}{
		{4, 2, []int{2, 2}},
		{5, 2, []int{3, 2}},
		{2, 4, []int{1, 1, 1, 1}}, // every sender generates spans
		{7, 3, []int{3, 2, 2}},
	} {
		var got []int
		for i := range tc.senders {
			got = append(got, SplitWorkers(tc.workers, tc.senders, i))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("SplitWorkers(%d over %d) = %v, want %v", tc.workers, tc.senders, got, tc.want)
		}
	}
}

func TestPreviousMinor(t *testing.T) {
	if got, ok := PreviousMinor("v0.161.0"); !ok || got != "v0.160.0" {
		t.Errorf("PreviousMinor(v0.161.0) = %q, %v", got, ok)
	}
	if _, ok := PreviousMinor("latest"); ok {
		t.Error("PreviousMinor(latest) should fail")
	}
}

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o750); err != nil {
		t.Fatal(err)
	}
	for path, n := range map[string]int{"x": 100, "a/y.log": 2000, "a/b/z.sst": 30000, "a/b/w.sst": 5} {
		if err := os.WriteFile(filepath.Join(dir, path), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "a/b/z.sst"), filepath.Join(dir, "link.sst")); err != nil {
		t.Fatal(err)
	}
	got, err := DirSize(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := (DirUsage{Total: 32105, SST: 30005, WAL: 2000}); got != want {
		t.Fatalf("DirSize = %+v, want %+v (symlink not counted)", got, want)
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "ingest.json")
	// Nothing stored: the per-span figures are NaN and must come out as null, not fail.
	if err := WriteJSON(path, &Result{Senders: 1, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(path, sampleResult()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path) //nolint:gosec // the test's own temp file
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Stored           float64
		CPUMicrosPerSpan *float64
		DiskBytesPerSpan *float64
		TraceByID        struct{ N int }
		Goals            []Goal
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Stored != 3_400_000 || got.CPUMicrosPerSpan == nil || *got.CPUMicrosPerSpan != 8 ||
		got.DiskBytesPerSpan == nil || *got.DiskBytesPerSpan != 61.5 || got.TraceByID.N != 200 || len(got.Goals) != 5 {
		t.Fatalf("JSON = %s", b)
	}
}
