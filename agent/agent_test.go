package agent

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memorySink keeps what the pipeline hands over; it is the in-process end of the pipeline,
// like the collector's consumers in faultline -target=all.
type memorySink struct {
	mu      sync.Mutex
	logs    []plog.Logs
	metrics []pmetric.Metrics
}

func (s *memorySink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, ld)
	return nil
}

func (s *memorySink) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics = append(s.metrics, md)
	return nil
}

func defaults(t *testing.T, args ...string) Config {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	require.NoError(t, fs.Parse(args))
	return cfg
}

func TestPipelineSendsHostMetricsAndLogLines(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkout.log"), []byte("ERROR card declined\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "worker.log.1"), []byte(`{"msg":"job done","service":"billing","level":"info"}`+"\n"), 0o600))
	cfg := defaults(t, "-host.name=test-host", "-interval=1s", "-logs.include="+filepath.Join(dir, "*"), "-logs.poll-interval=20ms")
	sink := &memorySink{}
	a, err := New(cfg, t.TempDir(), sink, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	require.Eventually(t, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.metrics) >= 2 && countRecords(sink.logs) == 2
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	host, ok := sink.metrics[0].ResourceMetrics().At(0).Resource().Attributes().Get("host.name")
	require.True(t, ok)
	require.Equal(t, "test-host", host.Str())

	services := map[string]string{} // service -> body
	for _, ld := range sink.logs {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			svc, _ := rl.Resource().Attributes().Get("service.name")
			h, _ := rl.Resource().Attributes().Get("host.name")
			require.Equal(t, "test-host", h.Str())
			recs := rl.ScopeLogs().At(0).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				services[svc.Str()] = recs.At(k).Body().Str()
			}
		}
	}
	require.Equal(t, map[string]string{"checkout": "ERROR card declined", "billing": "job done"}, services,
		"service from the file name, or from the record when it names one")
}

func countRecords(lds []plog.Logs) int {
	n := 0
	for _, ld := range lds {
		n += ld.LogRecordCount()
	}
	return n
}

func TestServiceOfFile(t *testing.T) {
	for path, want := range map[string]string{
		"/var/log/checkout.log":   "checkout",
		"/var/log/checkout.log.1": "checkout",
		"/var/log/syslog":         "syslog",
		"/var/log/.hidden":        ".hidden",
		"":                        "unknown",
	} {
		require.Equal(t, want, serviceOfFile(path), path)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := defaults(t, "-interval=100ms")
	require.ErrorContains(t, cfg.Validate(), "interval")
	cfg = defaults(t, "-logs.multiline-start=(")
	require.ErrorContains(t, cfg.Validate(), "multiline")
	cfg = defaults(t)
	require.NoError(t, cfg.Validate())
}
