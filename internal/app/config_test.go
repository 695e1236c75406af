package app

import (
	"flag"
	"io"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/config"
)

func defaults(t testing.TB) Config {
	t.Helper()
	var cfg Config
	cfg.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return cfg
}

// The example file documents every setting with its default: it must load, and it must
// say exactly what the flags' defaults are.
func TestExampleConfigMatchesDefaults(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "faultline.example.yaml")
	var fromFile Config
	_, err := config.Load("faultline", []string{"-config.file=" + example}, &fromFile, io.Discard)
	require.NoError(t, err)
	require.Equal(t, defaults(t), fromFile)
}

func TestDefaultsAreValid(t *testing.T) {
	cfg := defaults(t)
	require.NoError(t, cfg.Validate())
}

func TestValidateNamesEverySection(t *testing.T) {
	cases := map[string]func(*Config){
		"target":                     func(c *Config) { c.Target = "x" },
		"data.dir":                   func(c *Config) { c.DataDir = "" },
		"log.level":                  func(c *Config) { c.Log.Level = "loud" },
		"log.format":                 func(c *Config) { c.Log.Format = "xml" },
		"http.addr":                  func(c *Config) { c.Server.HTTPAddr = "nope" },
		"otlp.grpc.addr":             func(c *Config) { c.OTLP.GRPCAddr = "nope" },
		"otlp.max-spans-per-request": func(c *Config) { c.OTLP.Limits.MaxSpansPerRequest = -1 },
		"spanstore.retention":        func(c *Config) { c.SpanStore.Retention = 0 },
		"query.max-limit":            func(c *Config) { c.Query.MaxLimit = 0 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := defaults(t)
			mutate(&cfg)
			require.ErrorContains(t, cfg.Validate(), name)
		})
	}
}

// FuzzConfigYAML: a configuration file is untrusted input; loading it must fail with an
// error, never panic.
func FuzzConfigYAML(f *testing.F) {
	for _, seed := range []string{
		"target: all\n", "otlp:\n  limits:\n    max_spans_per_request: 5\n", "spanstore:\n  retention: 1h\n",
		"server: [1]\n", "query:\n  default_lookback: -5s\n", "otlp: {queue: {writers: 99999999999999999999}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := defaults(t)
		if err := config.DecodeYAML(data, &cfg); err == nil {
			_ = cfg.Validate()
		}
	})
}

func TestMainExitCodes(t *testing.T) {
	require.Equal(t, 2, Main([]string{"-nope"}))
	require.Equal(t, 0, Main([]string{"-config.verify"}))
}
