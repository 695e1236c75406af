package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// raw sends one request with target byte for byte (a client would clean "//" and "..") and
// returns the status and body.
func raw(t *testing.T, addr, method, target, token string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: faultline\r\nConnection: close\r\n", method, target)
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	_, err = io.WriteString(conn, req+"\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startWithRoutes starts a server with token and routes like the query target's: data under
// the API prefixes, one data route outside them, and the UI when ui is true.
func startWithRoutes(t *testing.T, token string, ui bool) string {
	t.Helper()
	s, err := New(Config{HTTPAddr: "127.0.0.1:0", AuthToken: token, ShutdownTimeout: time.Second}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	data := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "data") }
	s.Mux().HandleFunc("GET /api/v1/services", data)
	s.Mux().HandleFunc("/api/v1/topology", data)
	s.Mux().HandleFunc("/prometheus/", data)
	s.Mux().HandleFunc("/jaeger/api/services", data)
	s.Mux().HandleFunc("GET /federate", data) // a route a module might add outside the prefixes
	if ui {
		s.HandleUI(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "app") }))
	}
	require.NoError(t, services.StartAndAwaitRunning(context.Background(), s))
	t.Cleanup(func() { require.NoError(t, services.StopAndAwaitTerminated(context.Background(), s)) })
	return s.Addr().String()
}

func TestTokenLeavesReadyAndTheUIOpen(t *testing.T) {
	const token = "tok-7c1d"
	addr := startWithRoutes(t, token, true)
	for _, c := range []struct{ method, target string }{
		{"GET", "/"},
		{"HEAD", "/"},
		{"GET", "/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"GET", "/hosts/web-1"},
		{"GET", "/assets/index-3f2a1b.js"},
		{"GET", "/logs?service=api"},
		{"GET", "/apis"},
		{"GET", "/metricsx"},
		// Methods no route takes go to the UI, which answers 405 itself: no data route runs.
		{"POST", "/"},
		{"POST", "/federate"},
	} {
		code, body := raw(t, addr, c.method, c.target, "")
		require.Equal(t, http.StatusOK, code, "%s %s", c.method, c.target)
		if c.method != "HEAD" {
			require.Equal(t, "app", body, "%s %s", c.method, c.target)
		}
	}
	code, body := raw(t, addr, "GET", "/ready", "")
	require.Equal(t, http.StatusServiceUnavailable, code, "/ready is open (and not ready: no check set)")
	require.Contains(t, body, "starting")

	for _, c := range []struct{ method, target string }{
		{"GET", "/api/v1/services"},
		{"GET", "/api/v1/nope"},
		{"GET", "/api"},
		{"GET", "/api/v1/topology"},
		{"POST", "/api/v1/topology"},
		{"GET", "/prometheus/api/v1/query?query=up"},
		{"GET", "/prometheus"},
		{"GET", "/jaeger/api/services"},
		{"GET", "/jaeger/api/nope"},
		{"GET", "/metrics"},
		{"GET", "/metrics/x"},
		{"GET", "/debug/pprof/"},
		{"GET", "/debug/x"},
		{"HEAD", "/api/v1/services"},
		{"GET", "//api/v1/services"},
		{"POST", "//api/v1/services"},
		{"GET", "/assets/../api/v1/services"},
		{"GET", "/assets/%2e%2e/api/v1/services"},
		{"GET", "/%61pi/v1/services"},
		{"GET", "/api%2Fv1%2Fservices"},
		{"GET", "/federate"},
	} {
		code, _ := raw(t, addr, c.method, c.target, "")
		require.Equal(t, http.StatusUnauthorized, code, "%s %s without the token", c.method, c.target)
		code, _ = raw(t, addr, c.method, c.target, "wrong")
		require.Equal(t, http.StatusUnauthorized, code, "%s %s with a wrong token", c.method, c.target)
	}
	for _, target := range []string{"/api/v1/services", "/api/v1/topology", "/prometheus/api/v1/query", "/jaeger/api/services", "/federate"} {
		code, body := raw(t, addr, "GET", target, token)
		require.Equal(t, http.StatusOK, code, target)
		require.Equal(t, "data", body, target)
	}
	code, _ = raw(t, addr, "GET", "/metrics", token)
	require.Equal(t, http.StatusOK, code)
}

// Without the UI (the collector target, the agent), only /ready is open.
func TestTokenWithoutUI(t *testing.T) {
	const token = "tok-7c1d"
	addr := startWithRoutes(t, token, false)
	for _, target := range []string{"/", "/traces/abc", "/assets/index.js", "/nope"} {
		code, _ := raw(t, addr, "GET", target, "")
		require.Equal(t, http.StatusUnauthorized, code, target)
		code, _ = raw(t, addr, "GET", target, token)
		require.Equal(t, http.StatusNotFound, code, "%s: no UI here", target)
	}
	code, _ := raw(t, addr, "GET", "/ready", "")
	require.Equal(t, http.StatusServiceUnavailable, code)
}

func TestNoTokenNoCheck(t *testing.T) {
	addr := startWithRoutes(t, "", true)
	code, body := raw(t, addr, "GET", "/api/v1/services", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "data", body)
	code, body = raw(t, addr, "GET", "/", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "app", body)
}
