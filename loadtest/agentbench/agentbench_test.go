package agentbench

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("agentbench", flag.ContinueOnError))
	return c
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, func() error { c := validConfig(); return c.Validate() }(), "the defaults are valid")
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no agent", func(c *Config) { c.Agent = "" }, "-agent and -faultline are required"},
		{"zero rate", func(c *Config) { c.Rate = 0 }, "-rate"},
		{"bad format", func(c *Config) { c.Format = "xml" }, "-format"},
		{"zero lines per write", func(c *Config) { c.LinesPerWrite = 0 }, "-lines-per-write"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "-duration"},
		{"negative warm-up", func(c *Config) { c.Warmup = -time.Second }, "-warmup"},
		{"unbounded", func(c *Config) { c.Duration = 2 * time.Hour }, "at most 1h0m0s"},
		{"fast interval", func(c *Config) { c.Interval = 500 * time.Millisecond }, "-interval"},
		{"sample longer than the window", func(c *Config) { c.Sample = 2 * time.Minute }, "-sample"},
		{"negative drain", func(c *Config) { c.Drain = -time.Second }, "-drain"},
		{"no grace", func(c *Config) { c.StopGrace = 0 }, "-stop-grace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.modify(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestMainBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, Main(context.Background(), []string{"-rate=0"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-rate must be between")
	assert.Equal(t, 2, Main(context.Background(), []string{"-no-such-flag"}, &stdout, &stderr))
	assert.Equal(t, 2, Main(context.Background(), []string{"extra"}, &stdout, &stderr))
	assert.Empty(t, stdout.String())
}

// A missing binary fails before anything starts or any temp dir is made, saying how to build it.
func TestMainMissingAgent(t *testing.T) {
	tmp := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-agent=" + filepath.Join(tmp, "faultline-agent"), "-faultline=" + os.Args[0], "-tmpdir=" + tmp}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "go build -o bin/faultline-agent ./cmd/faultline-agent")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries)
	assert.Empty(t, stdout.String())
}

// The whole run with this test binary standing in for faultline, faultline-agent and
// node_exporter (the helper's serve mode): faultline-agent does not exist yet, and building
// faultline here would tie this package's tests to the whole tree. What is under test is the
// orchestration: the flags each process gets, readiness, the writer's count, the window, the
// meters, the scrapes, the report and the clean-up. The stand-in faultline exports no
// faultline_logs_stored_total, so delivery is unknown, as with a faultline without a log store.
func TestRunWithStandIns(t *testing.T) {
	t.Setenv(helperEnv, "serve")
	tmp := t.TempDir()
	cfg := validConfig()
	cfg.Agent, cfg.Faultline, cfg.NodeExporter = os.Args[0], os.Args[0], os.Args[0]
	cfg.Rate, cfg.Warmup, cfg.Duration = 500, time.Second, 2*time.Second
	cfg.Interval, cfg.Sample, cfg.Drain = time.Second, 100*time.Millisecond, 0
	cfg.TmpDir, cfg.Keep = tmp, true
	cfg.AgentArgs = []string{"-host.name=bench-host"}
	var logs bytes.Buffer
	res, err := Run(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err, logs.String())

	assert.Equal(t, int64(1500), res.Written, "rate × (warm-up + duration)")
	assert.InDelta(t, 1000, res.WindowWritten, 150, "about rate × duration in the window")
	assert.InDelta(t, 2.0, res.Window().Seconds(), 0.5)
	assert.False(t, res.DeliveredKnown)
	assert.Empty(t, res.Warnings)
	for name, u := range map[string]Usage{"agent": res.Agent, "faultline": res.Faultline} {
		assert.GreaterOrEqual(t, u.Samples, 10, name)
		assert.Positive(t, u.RSSPeak, name)
	}
	require.NotNil(t, res.NodeExporter)
	assert.Positive(t, res.NodeExporter.RSSPeak)
	assert.GreaterOrEqual(t, res.NodeExporterScrapes.OK, 2, "scraped every second for 3 s")
	assert.Zero(t, res.NodeExporterScrapes.Failed)

	// -keep: the dir holds the tailed file with every line, and each process's log shows the
	// flags it was given.
	dirs, err := filepath.Glob(filepath.Join(tmp, "agentbench-*"))
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	dir := dirs[0]
	b, err := os.ReadFile(filepath.Join(dir, "logs", "checkout.log"))
	require.NoError(t, err)
	assert.Equal(t, 1500, bytes.Count(b, []byte("\n")))
	assert.Equal(t, res.Bytes, int64(len(b)))

	agentLog, err := os.ReadFile(filepath.Join(dir, "agent.log"))
	require.NoError(t, err)
	for _, want := range []string{
		"-collector.endpoint=127.0.0.1:",
		"-logs.include=" + filepath.Join(dir, "logs", "*.log"),
		"-state.dir=" + filepath.Join(dir, "agent-state"),
		"-interval=1s",
		"-http.addr=127.0.0.1:",
		"-host.name=bench-host",
	} {
		assert.Contains(t, string(agentLog), want)
	}
	neLog, err := os.ReadFile(filepath.Join(dir, "node_exporter.log"))
	require.NoError(t, err)
	assert.Contains(t, string(neLog), "--web.listen-address=127.0.0.1:")
	flLog, err := os.ReadFile(filepath.Join(dir, "faultline.log"))
	require.NoError(t, err)
	assert.Contains(t, string(flLog), "-data.dir="+filepath.Join(dir, "faultline-data"))

	var out bytes.Buffer
	require.NoError(t, res.WriteMarkdown(&out))
	assert.Contains(t, out.String(), "| node_exporter (default collectors, scraped every 1s; tails no logs) |")
	assert.Contains(t, out.String(), "delivered=n/a/1500")
}

// Without -keep the temp dir goes; a missing node_exporter is reported, not a failure.
func TestRunRemovesTempDir(t *testing.T) {
	t.Setenv(helperEnv, "serve")
	tmp := t.TempDir()
	cfg := validConfig()
	cfg.Agent, cfg.Faultline = os.Args[0], os.Args[0]
	cfg.NodeExporter = filepath.Join(tmp, "no-node-exporter")
	cfg.Rate, cfg.Warmup, cfg.Duration = 100, 0, time.Second
	cfg.Interval, cfg.Sample, cfg.Drain = time.Second, 100*time.Millisecond, 0
	cfg.TmpDir = tmp
	res, err := Run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Nil(t, res.NodeExporter)
	assert.Equal(t, int64(100), res.Written)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries)
	var out bytes.Buffer
	require.NoError(t, res.WriteMarkdown(&out))
	assert.Contains(t, out.String(), "sudo apt-get install prometheus-node-exporter")
}

// An agent that exits at start fails the run with its log, and the temp dir is kept.
func TestRunAgentFails(t *testing.T) {
	tmp := t.TempDir()
	cfg := validConfig()
	cfg.Faultline, cfg.NodeExporter = os.Args[0], ""
	cfg.Duration, cfg.Interval, cfg.Sample, cfg.ReadyTimeout = time.Second, time.Second, 100*time.Millisecond, 30*time.Second
	cfg.TmpDir = tmp
	// The agent gets "fail" through a wrapper script, faultline "serve" through the env.
	script := filepath.Join(tmp, "agent.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexport "+helperEnv+"=fail\nexec "+os.Args[0]+" \"$@\"\n"), 0o700))
	cfg.Agent = script
	t.Setenv(helperEnv, "serve")
	_, err := Run(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "faultline-agent not ready")
	assert.Contains(t, err.Error(), "failing on purpose")
	assert.Contains(t, err.Error(), "logs in "+tmp)
	dirs, err := filepath.Glob(filepath.Join(tmp, "agentbench-*"))
	require.NoError(t, err)
	assert.Len(t, dirs, 1, "kept after a failure")
	assert.True(t, strings.HasPrefix(dirs[0], tmp))
}
