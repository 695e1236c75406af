package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/apptest"
)

var agentBin, faultlineBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faultline-agent-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for name, path := range map[string]*string{"faultline-agent": &agentBin, "faultline": &faultlineBin} {
			if *path, err = apptest.Build(dir, name); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// logLine is one entry of GET /api/v1/logs.
type logLine struct {
	Time       time.Time      `json:"time"`
	Service    string         `json:"service"`
	Host       string         `json:"host"`
	Severity   string         `json:"severity"`
	Body       string         `json:"body"`
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	Attributes map[string]any `json:"attributes"`
}

func searchLogs(t *testing.T, f *apptest.Faultline, params url.Values) []logLine {
	t.Helper()
	resp, err := f.Client.Get(f.URL("/api/v1/logs?" + params.Encode()))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct{ Logs []logLine }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.Logs
}

// promValues runs an instant PromQL query and returns the values by the given label.
func promValues(t *testing.T, f *apptest.Faultline, query, label string) map[string]float64 {
	t.Helper()
	resp, err := f.Client.Get(f.URL("/prometheus/api/v1/query?query=" + url.QueryEscape(query)))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, query)
	var out struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	vals := map[string]float64{}
	for _, r := range out.Data.Result {
		var v float64
		_, _ = fmt.Sscan(r.Value[1].(string), &v)
		vals[r.Metric[label]] = v
	}
	return vals
}

func appendTo(t *testing.T, path string, lines ...string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = fh.WriteString(strings.Join(lines, "\n") + "\n")
	require.NoError(t, err)
	require.NoError(t, fh.Close())
}

func TestHostMetricsAndLogsReachFaultline(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.enabled=false")
	logDir := t.TempDir()
	app := filepath.Join(logDir, "checkout.log")
	appendTo(t, app, "INFO checkout started")
	const interval = 2 * time.Second
	started := time.Now()
	apptest.StartAgent(t, agentBin, t.TempDir(),
		"-collector.endpoint="+f.GRPCAddr, "-host.name=e2e-host", "-interval="+interval.String(),
		"-logs.include="+filepath.Join(logDir, "*.log"), "-logs.poll-interval=100ms",
		`-logs.multiline-start=^\S`, "-logs.multiline-flush=300ms")

	// CPU utilisation needs two scrapes; everything must be there within two intervals of
	// the first one (plus the TSDB's and the query's own moment).
	for _, q := range []struct{ expr, what string }{
		{`1 - avg by (host_name) (system_cpu_utilization_ratio{host_name="e2e-host",state="idle"})`, "CPU busy"},
		{`sum by (host_name) (system_memory_utilization_ratio{host_name="e2e-host",state="used"})`, "memory used"},
		{`max by (host_name) (system_filesystem_utilization_ratio{host_name="e2e-host"})`, "fullest filesystem"},
		{`sum by (host_name) (system_memory_usage_bytes{host_name="e2e-host"})`, "memory bytes"},
		{`sum by (host_name) (rate(system_network_io_bytes_total{host_name="e2e-host"}[1m]) >= 0)`, "network"},
	} {
		apptest.WaitFor(t, 2*interval+5*time.Second-time.Since(started), func() bool {
			v, ok := promValues(t, f, q.expr, "host_name")["e2e-host"]
			return ok && v >= 0 && v <= 1e15
		}, q.what+" in PromQL")
		v := promValues(t, f, q.expr, "host_name")["e2e-host"]
		if !strings.Contains(q.what, "bytes") && q.what != "network" {
			require.LessOrEqual(t, v, 1.0, q.what)
			require.Positive(t, v, q.what)
		}
	}

	// Lines appended to a tailed file.
	appendTo(t, app, "INFO order 1 placed", "WARN order 2 slow trace_id=0af7651916cd43dd8448eb211c80319c")
	apptest.WaitFor(t, 10*time.Second, func() bool {
		return len(searchLogs(t, f, url.Values{"service": {"checkout"}, "host": {"e2e-host"}, "q": {"order"}})) == 2
	}, "appended lines in /api/v1/logs")
	got := searchLogs(t, f, url.Values{"trace_id": {"0af7651916cd43dd8448eb211c80319c"}})
	require.Len(t, got, 1)
	require.Equal(t, "WARN", strings.ToUpper(got[0].Severity))
	require.Contains(t, got[0].Body, "order 2 slow")

	// A multi-line stack trace comes through as one record.
	appendTo(t, app, "ERROR payment failed: java.lang.IllegalStateException: card declined",
		"\tat com.shop.Payment.charge(Payment.java:42)",
		"\tat com.shop.Checkout.run(Checkout.java:7)",
		"INFO after the stack trace")
	apptest.WaitFor(t, 10*time.Second, func() bool {
		return len(searchLogs(t, f, url.Values{"service": {"checkout"}, "q": {`"after the stack trace"`}})) == 1
	}, "the line after the stack trace")
	errs := searchLogs(t, f, url.Values{"service": {"checkout"}, "severity": {"error"}})
	require.Len(t, errs, 1)
	require.Equal(t, "ERROR payment failed: java.lang.IllegalStateException: card declined\n"+
		"\tat com.shop.Payment.charge(Payment.java:42)\n\tat com.shop.Checkout.run(Checkout.java:7)", errs[0].Body)

	// Rotation by rename: the end of the old file and the new file both arrive, once.
	appendTo(t, app, "INFO rot before-1", "INFO rot before-2")
	require.NoError(t, os.Rename(app, app+".1"))
	appendTo(t, app+".1", "INFO rot late-write-to-rotated")
	appendTo(t, app, "INFO rot after-1")
	apptest.WaitFor(t, 10*time.Second, func() bool {
		return len(searchLogs(t, f, url.Values{"service": {"checkout"}, "q": {"rot"}})) >= 4
	}, "lines around the rotation")
	time.Sleep(time.Second) // a second poll after the rotation must not bring duplicates
	var bodies []string
	for _, l := range searchLogs(t, f, url.Values{"service": {"checkout"}, "q": {"rot"}}) {
		bodies = append(bodies, l.Body)
	}
	require.ElementsMatch(t, []string{"INFO rot before-1", "INFO rot before-2", "INFO rot late-write-to-rotated", "INFO rot after-1"}, bodies)
}

func TestLocalAgentInTargetAll(t *testing.T) {
	logDir := t.TempDir()
	appendTo(t, filepath.Join(logDir, "local.log"), "ERROR the local agent tails this")
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.host.name=local-host", "-agent.interval=1s",
		"-agent.logs.include="+filepath.Join(logDir, "*.log"), "-agent.logs.poll-interval=100ms")
	apptest.WaitFor(t, 15*time.Second, func() bool {
		_, ok := promValues(t, f, `system_memory_utilization_ratio{host_name="local-host",state="used"}`, "host_name")["local-host"]
		return ok
	}, "the local agent's memory series")
	apptest.WaitFor(t, 15*time.Second, func() bool {
		l := searchLogs(t, f, url.Values{"host": {"local-host"}, "service": {"local"}})
		return len(l) == 1 && l[0].Body == "ERROR the local agent tails this"
	}, "the local agent's log line")

	off := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.enabled=false", "-agent.host.name=off-host")
	time.Sleep(3 * time.Second)
	require.Empty(t, promValues(t, off, `count by (host_name) (system_memory_usage_bytes)`, "host_name"), "-agent.enabled=false runs no agent")
}

func TestConfigErrors(t *testing.T) {
	code, out := apptest.RunFaultline(agentBin, "-no.such.flag")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "no.such.flag")
	code, out = apptest.RunFaultline(agentBin, "-logs.multiline-start=(", "-config.verify")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "multiline")
	code, out = apptest.RunFaultline(agentBin, "-interval=10ms", "-config.verify")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "interval")
	code, out = apptest.RunFaultline(agentBin, "-config.verify")
	require.Equal(t, 0, code, out)
}

// The agent runs on every host: its binary must not carry the Prometheus server or the
// Elasticsearch client.
func TestAgentImportGraphStaysSmall(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Dir = filepath.Dir(file)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/prometheus/prometheus", "github.com/elastic/", "github.com/faultline/faultline/internal/metricstore", "github.com/cockroachdb/pebble"} {
			require.False(t, strings.HasPrefix(pkg, banned), "faultline-agent imports %s", pkg)
		}
	}
}

// TestNoLineLostOrRepeated is the check: the agent tails 10,000 numbered lines while
// the collector stops half-way, the agent itself restarts, and the collector comes back.
func TestNoLineLostOrRepeated(t *testing.T) {
	const total, perBucket = 10000, 500
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.enabled=false")
	logDir := t.TempDir()
	path := filepath.Join(logDir, "numbers.log")
	ag := apptest.StartAgent(t, agentBin, t.TempDir(),
		"-collector.endpoint="+f.GRPCAddr, "-host.name=noloss", "-interval=5s",
		"-logs.include="+path, "-logs.poll-interval=50ms",
		"-collector.retry.initial-backoff=100ms", "-collector.retry.max-backoff=1s")

	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer fh.Close()
	write := func(from, to int) {
		for n := from; n < to; n++ {
			_, err := fmt.Fprintf(fh, "INFO numbered line n=%05d b%02d\n", n, n/perBucket)
			require.NoError(t, err)
			if n%100 == 99 {
				time.Sleep(50 * time.Millisecond) // ~2,000 lines/s
			}
		}
	}
	write(0, total/2)
	f.Stop() // the collector goes away half-way
	write(total/2, 7000)
	ag.Stop() // the agent restarts while the collector is still away
	ag.Start()
	write(7000, total)
	time.Sleep(500 * time.Millisecond)
	f.Start()

	counts := make([]int, total)
	apptest.WaitFor(t, 60*time.Second, func() bool {
		clear(counts)
		seen := 0
		for b := 0; b < total/perBucket; b++ {
			for _, l := range searchLogs(t, f, url.Values{"service": {"numbers"}, "q": {fmt.Sprintf("b%02d", b)}, "limit": {"1000"}}) {
				var n, bucket int
				if _, err := fmt.Sscanf(l.Body, "INFO numbered line n=%05d b%02d", &n, &bucket); err == nil && n >= 0 && n < total {
					counts[n]++
					seen++
				}
			}
		}
		return seen >= total
	}, "all 10,000 lines stored")
	var missing, repeated []int
	for n, c := range counts {
		switch {
		case c == 0:
			missing = append(missing, n)
		case c > 1:
			repeated = append(repeated, n)
		}
	}
	require.Empty(t, missing, "lines lost")
	require.Empty(t, repeated, "lines stored more than once")
}

func TestBadInputIsHandled(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.enabled=false")
	logDir := t.TempDir()
	ag := apptest.StartAgent(t, agentBin, t.TempDir(),
		"-collector.endpoint="+f.GRPCAddr, "-host.name=bad-input", "-interval=5s",
		"-logs.include="+filepath.Join(logDir, "*.log"), "-logs.poll-interval=50ms")

	huge := strings.Repeat("x", 10<<20)
	appendTo(t, filepath.Join(logDir, "huge.log"), "INFO huge "+huge, "INFO after the huge line")
	appendTo(t, filepath.Join(logDir, "latin1.log"), "INFO caf\xe9 cr\xe8me")
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i/13) // every byte value, NULs and broken UTF-8 included
	}
	require.NoError(t, os.WriteFile(filepath.Join(logDir, "garbage.log"), append(garbage, []byte("\nINFO after the garbage\n")...), 0o600))
	vanish := filepath.Join(logDir, "vanish.log")
	appendTo(t, vanish, "INFO here and gone")
	require.NoError(t, os.Remove(vanish))

	apptest.WaitFor(t, 20*time.Second, func() bool {
		return len(searchLogs(t, f, url.Values{"service": {"huge"}, "q": {`"after the huge line"`}})) == 1 &&
			len(searchLogs(t, f, url.Values{"service": {"garbage"}, "q": {`"after the garbage"`}})) == 1 &&
			len(searchLogs(t, f, url.Values{"service": {"latin1"}})) == 1
	}, "the good lines after the bad input")
	var cut []int // lengths of the records holding the 10 MB line (never print them)
	for _, l := range searchLogs(t, f, url.Values{"service": {"huge"}, "limit": {"10"}}) {
		if strings.HasPrefix(l.Body, "INFO huge x") {
			cut = append(cut, len(l.Body))
		}
	}
	require.Len(t, cut, 1, "the 10 MB line arrives once, cut")
	require.LessOrEqual(t, cut[0], 64<<10, "cut to -logs.max-line-bytes")
	latin := searchLogs(t, f, url.Values{"service": {"latin1"}})
	require.Equal(t, "INFO caf\uFFFD cr\uFFFDme", latin[0].Body)

	metrics := scrape(t, ag.URL("/metrics"))
	require.Contains(t, metrics, "faultline_agent_log_lines_truncated_total 1")
	require.Regexp(t, `faultline_agent_log_invalid_utf8_total [1-9]`, metrics)
	require.NoError(t, ag.WaitReady(time.Second), "the agent keeps running")
}

func scrape(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u) //nolint:gosec,noctx // the test's own loopback URL
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return b.String()
}
