package agentbench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/bench"
)

// startHelper starts this test binary as a helper process (see helper in main_test.go).
func startHelper(t *testing.T, mode string) (*Process, string) {
	t.Helper()
	addr, err := FreeAddr()
	require.NoError(t, err)
	t.Setenv(helperEnv, mode+":"+addr)
	p, err := StartProcess("helper", os.Args[0], []string{"-test.run=^$"}, filepath.Join(t.TempDir(), "helper.log"))
	require.NoError(t, err)
	t.Cleanup(p.Kill)
	return p, addr
}

func helperScrapes(t *testing.T, addr string) int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	m, err := bench.ParseMetrics(resp.Body)
	require.NoError(t, err)
	v, ok := m.Sum("helper_scrapes_total")
	require.True(t, ok)
	return int(v)
}

// A real process: ready over HTTP, metered through /proc, scraped, stopped with SIGTERM.
func TestProcessMeterScrapeStop(t *testing.T) {
	p, addr := startHelper(t, "serve")
	ctx := context.Background()
	require.NoError(t, p.WaitHTTP(ctx, "http://"+addr+"/ready", 30*time.Second))

	m, err := StartMeter(p.PID(), 20*time.Millisecond, bench.ClockTicks())
	require.NoError(t, err)
	tr := &http.Transport{}
	sctx, cancel := context.WithTimeout(ctx, 450*time.Millisecond)
	s := Scraper{Client: &http.Client{Transport: tr}, URL: "http://" + addr + "/metrics", Every: 100 * time.Millisecond}.Run(sctx)
	cancel()
	tr.CloseIdleConnections()
	u, err := m.Stop()
	require.NoError(t, err)

	assert.GreaterOrEqual(t, s.OK, 2)
	assert.Zero(t, s.Failed, s.Err)
	assert.Positive(t, s.Bytes)
	// The helper counted every scrape that reached it, plus possibly one cancelled in flight,
	// plus the one just now.
	seen := helperScrapes(t, addr) - 1
	assert.Contains(t, []int{s.OK, s.OK + 1}, seen)

	assert.GreaterOrEqual(t, u.Samples, 3, "first, at least one tick, last")
	assert.Positive(t, u.RSSAvg)
	assert.GreaterOrEqual(t, u.RSSPeak, u.RSSAvg)
	assert.GreaterOrEqual(t, u.Elapsed, 450*time.Millisecond)

	how, err := p.Stop(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "exit status 0 after SIGTERM", how)
	assert.True(t, p.Exited())
	_, err = p.Stop(time.Second)
	require.Error(t, err, "stopping twice")

	// Gone: its /proc entry cannot be read.
	_, err = StartMeter(p.PID(), time.Second, bench.ClockTicks())
	require.Error(t, err)
}

func TestProcessKilledAfterGrace(t *testing.T) {
	p, addr := startHelper(t, "stubborn")
	require.NoError(t, p.WaitHTTP(context.Background(), "http://"+addr+"/ready", 30*time.Second))
	how, err := p.Stop(300 * time.Millisecond)
	require.Error(t, err)
	assert.Equal(t, "killed: not stopped 300ms after SIGTERM", how)
	assert.True(t, p.Exited())
}

func TestProcessExitsBeforeReady(t *testing.T) {
	p, addr := startHelper(t, "fail")
	err := p.WaitHTTP(context.Background(), "http://"+addr+"/ready", 30*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "helper exited before")
	assert.Contains(t, err.Error(), "exit status 3")
	assert.Contains(t, p.LogTail(4096), "failing on purpose")
}

func TestProcessNotReadyInTime(t *testing.T) {
	p, _ := startHelper(t, "serve")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	err := p.WaitHTTP(context.Background(), srv.URL, 300*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503 Service Unavailable")
	_, err = p.Stop(10 * time.Second)
	require.NoError(t, err)
}

func TestStartProcessMissingBinary(t *testing.T) {
	_, err := StartProcess("faultline-agent", filepath.Join(t.TempDir(), "nope"), nil, filepath.Join(t.TempDir(), "log"))
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "faultline-agent binary")
}

func TestScraperFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "broken\n")
	}))
	defer srv.Close()
	closedAddr, err := FreeAddr() // nothing listens there any more
	require.NoError(t, err)
	for _, tc := range []struct{ url, want string }{
		{srv.URL + "/metrics", "status 500"},
		{"http://" + closedAddr + "/metrics", "connection refused"},
	} {
		tr := &http.Transport{}
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		s := Scraper{Client: &http.Client{Transport: tr}, URL: tc.url, Every: 100 * time.Millisecond}.Run(ctx)
		cancel()
		tr.CloseIdleConnections()
		assert.Zero(t, s.OK)
		assert.GreaterOrEqual(t, s.Failed, 1)
		assert.Contains(t, s.Err, tc.want)
	}
}

func TestFreeAddr(t *testing.T) {
	addr, err := FreeAddr()
	require.NoError(t, err)
	host, port, ok := strings.Cut(addr, ":")
	require.True(t, ok)
	assert.Equal(t, "127.0.0.1", host)
	n, err := strconv.Atoi(port)
	require.NoError(t, err)
	assert.Positive(t, n)
}
