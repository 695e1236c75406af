package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadinessAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Add(3)
	s, err := New(Config{HTTPAddr: "127.0.0.1:0", ShutdownTimeout: time.Second}, slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	require.NoError(t, services.StartAndAwaitRunning(context.Background(), s))
	defer func() { require.NoError(t, services.StopAndAwaitTerminated(context.Background(), s)) }()
	base := "http://" + s.Addr().String()

	code, body := get(t, base+"/ready")
	require.Equal(t, http.StatusServiceUnavailable, code, "no readiness check yet")
	require.Contains(t, body, "starting")

	ready := errors.New("modules are not all running")
	s.SetReadiness(func() error { return ready })
	code, body = get(t, base+"/ready")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, ready.Error())

	ready = nil
	code, _ = get(t, base+"/ready")
	require.Equal(t, http.StatusOK, code)

	code, body = get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "faultline_test_total 3")

	s.Draining()
	code, body = get(t, base+"/ready")
	require.Equal(t, http.StatusServiceUnavailable, code, "shutdown fails readiness first")
	require.Contains(t, body, "shutting down")
}

func TestConfigValidate(t *testing.T) {
	ok := Config{HTTPAddr: ":7070", ShutdownTimeout: time.Second}
	require.NoError(t, ok.Validate())
	bad := ok
	bad.HTTPAddr = "7070"
	require.ErrorContains(t, bad.Validate(), "http.addr")
	bad = ok
	bad.TLSCertFile = "cert.pem"
	require.ErrorContains(t, bad.Validate(), "http.tls-key-file")
}
