package hosts

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/faultline/faultline/internal/metricstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// now is the end of the default window, (now-1h, now].
var now = time.Date(2026, 11, 22, 12, 30, 0, 0, time.UTC)

// sample is one sample of the series name{kv...} at now+at.
type sample struct {
	at   time.Duration
	v    float64
	name string
	kv   []string
}

func cpuTime(host string, at time.Duration) sample {
	return sample{at, 1234, "system_cpu_time_seconds_total", []string{"host_name", host, "cpu", "0", "state", "idle"}}
}

func memoryUsage(host string, at time.Duration) sample {
	return sample{at, 1 << 30, "system_memory_usage_bytes", []string{"host_name", host, "state", "used"}}
}

func rule(name, host string, at time.Duration, v float64) sample {
	return sample{at, v, name, []string{"host_name", host}}
}

func info(service, host string, at time.Duration) sample {
	return sample{at, 1, metricstore.ServiceHostInfo, []string{"service", service, "host_name", host}}
}

// every repeats mk each step over [from, to].
func every(from, to, step time.Duration, mk func(time.Duration) sample) []sample {
	var out []sample
	for at := from; at <= to; at += step {
		out = append(out, mk(at))
	}
	return out
}

// scenario is one host of each kind, around the edges of the default window.
func scenario() []sample {
	var s []sample
	add := func(ss ...sample) { s = append(s, ss...) }
	// agent-only: CPU time until 10m ago, memory until 5m ago; the ruler's values end with a
	// stale marker when the agent stopped.
	add(every(-50*time.Minute, -10*time.Minute, time.Minute, func(at time.Duration) sample { return cpuTime("agent-only", at) })...)
	add(every(-50*time.Minute, -5*time.Minute, time.Minute, func(at time.Duration) sample { return memoryUsage("agent-only", at) })...)
	add(rule(cpuRule, "agent-only", -20*time.Minute, 0.9), rule(cpuRule, "agent-only", -11*time.Minute, 0.25),
		rule(cpuRule, "agent-only", -4*time.Minute, math.Float64frombits(value.StaleNaN)))
	add(rule(memoryRule, "agent-only", -6*time.Minute, 0.5))
	// span-only: two services half an hour ago; a third only before the window.
	add(info("frontend", "span-only", -30*time.Minute), info("ad", "span-only", -30*time.Minute), info("ad", "span-only", -29*time.Minute))
	add(info("old", "span-only", -2*time.Hour))
	// both: the agent and a service, no rule values (the ruler is not running), and a NaN.
	add(cpuTime("both", -2*time.Minute), info("cart", "both", -time.Minute))
	add(rule(memoryRule, "both", -time.Minute, math.NaN()))
	// Edges: a sample at exactly start is out, at exactly end in, after end out.
	add(cpuTime("at-start", -time.Hour), info("svc", "at-start", -time.Hour))
	add(info("svc", "at-end", 0))
	add(cpuTime("future", time.Minute), info("svc", "future", time.Minute))
	// Not the agent: an application's own metric with a host_name.
	add(sample{-time.Minute, 3, "queue_depth", []string{"host_name", "app-metric-only"}})
	// Rule values of a host whose agent metrics are outside the window: no host.
	add(cpuTime("gone", -2*time.Hour), rule(cpuRule, "gone", -30*time.Minute, 0.3))
	return s
}

func openStore(tb testing.TB) *metricstore.Store {
	tb.Helper()
	var cfg metricstore.Config
	cfg.RegisterFlags(flag.NewFlagSet("test", flag.ContinueOnError))
	ms, err := metricstore.Open(cfg, tb.TempDir(), nil, nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, ms.Close()) })
	return ms
}

// write appends the samples in time order, through one transaction.
func write(tb testing.TB, ms *metricstore.Store, samples []sample) {
	tb.Helper()
	slices.SortStableFunc(samples, func(a, b sample) int { return int(a.at - b.at) })
	app := ms.Appendable().Appender(context.Background())
	for _, s := range samples {
		lset := labels.FromStrings(append([]string{"__name__", s.name}, s.kv...)...)
		_, err := app.Append(0, lset, now.Add(s.at).UnixMilli(), s.v)
		require.NoError(tb, err, lset.String())
	}
	require.NoError(tb, app.Commit())
}

func newAPI(tb testing.TB, ms *metricstore.Store, reg prometheus.Registerer) *API {
	tb.Helper()
	a, err := New(ms.Engine(), ms.Queryable(), time.Hour, nil, reg)
	require.NoError(tb, err)
	a.now = func() time.Time { return now }
	return a
}

func ptr[T any](v T) *T { return &v }

func TestHosts(t *testing.T) {
	ms := openStore(t)
	write(t, ms, scenario())
	a := newAPI(t, ms, nil)

	tests := []struct {
		name       string
		start, end time.Time
		want       []Host
	}{
		{"default window", now.Add(-time.Hour), now, []Host{
			{Host: "agent-only", Services: []string{}, Agent: true, CPUUtilization: ptr(0.25), MemoryUtilization: ptr(0.5), LastSeen: ptr(now.Add(-5 * time.Minute))},
			{Host: "at-end", Services: []string{"svc"}},
			{Host: "both", Services: []string{"cart"}, Agent: true, LastSeen: ptr(now.Add(-2 * time.Minute))},
			{Host: "span-only", Services: []string{"ad", "frontend"}},
		}},
		{"the last 20 minutes", now.Add(-20 * time.Minute), now, []Host{
			{Host: "agent-only", Services: []string{}, Agent: true, CPUUtilization: ptr(0.25), MemoryUtilization: ptr(0.5), LastSeen: ptr(now.Add(-5 * time.Minute))},
			{Host: "at-end", Services: []string{"svc"}},
			{Host: "both", Services: []string{"cart"}, Agent: true, LastSeen: ptr(now.Add(-2 * time.Minute))},
		}},
		{"an earlier window sees earlier values", now.Add(-time.Hour), now.Add(-15 * time.Minute), []Host{
			{Host: "agent-only", Services: []string{}, Agent: true, CPUUtilization: ptr(0.9), LastSeen: ptr(now.Add(-15 * time.Minute))},
			{Host: "span-only", Services: []string{"ad", "frontend"}},
		}},
		{"an hour earlier: samples at its end are in", now.Add(-2*time.Hour - time.Millisecond), now.Add(-time.Hour), []Host{
			{Host: "at-start", Services: []string{"svc"}, Agent: true, LastSeen: ptr(now.Add(-time.Hour))},
			{Host: "gone", Services: []string{}, Agent: true, LastSeen: ptr(now.Add(-2 * time.Hour))},
			{Host: "span-only", Services: []string{"old"}},
		}},
		{"a window of less than a millisecond", now.Add(-time.Microsecond), now, []Host{
			{Host: "at-end", Services: []string{"svc"}},
		}},
		{"nothing", now.Add(-10 * time.Hour), now.Add(-9 * time.Hour), []Host{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Hosts(context.Background(), tt.start, tt.end)
			require.NoError(t, err)
			assert.Equal(t, List{Hosts: tt.want}, got)
		})
	}
}

func TestHostsCap(t *testing.T) {
	ms := openStore(t)
	write(t, ms, scenario())
	a := newAPI(t, ms, nil)
	a.maxHosts = 2
	got, err := a.Hosts(context.Background(), now.Add(-time.Hour), now)
	require.NoError(t, err)
	assert.True(t, got.Truncated)
	assert.Equal(t, []string{"agent-only", "at-end"}, []string{got.Hosts[0].Host, got.Hosts[1].Host})
	assert.Len(t, got.Hosts, 2)
}

func TestHTTP(t *testing.T) {
	ms := openStore(t)
	write(t, ms, scenario())
	reg := prometheus.NewRegistry()
	a := newAPI(t, ms, reg)
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(t *testing.T, method string, params url.Values) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/api/v1/hosts?"+params.Encode(), nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}

	t.Run("contract", func(t *testing.T) {
		want := `{"hosts": [
		  {"host": "agent-only", "services": [], "agent": true, "cpu_utilization": 0.25, "memory_utilization": 0.5, "last_seen": "2026-11-22T12:25:00Z"},
		  {"host": "at-end", "services": ["svc"], "agent": false, "cpu_utilization": null, "memory_utilization": null, "last_seen": null},
		  {"host": "both", "services": ["cart"], "agent": true, "cpu_utilization": null, "memory_utilization": null, "last_seen": "2026-11-22T12:28:00Z"},
		  {"host": "span-only", "services": ["ad", "frontend"], "agent": false, "cpu_utilization": null, "memory_utilization": null, "last_seen": null}
		], "truncated": false}`
		for name, params := range map[string]url.Values{
			"default window": {},
			"rfc3339":        {"start": {now.Add(-time.Hour).Format(time.RFC3339)}, "end": {now.Format(time.RFC3339)}},
			"unix seconds":   {"start": {strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(now.Unix(), 10) + ".000"}},
		} {
			t.Run(name, func(t *testing.T) {
				resp, body := get(t, http.MethodGet, params)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				assert.JSONEq(t, want, body)
			})
		}
	})

	t.Run("empty list", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, url.Values{"start": {"100"}, "end": {"200"}})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.JSONEq(t, `{"hosts": [], "truncated": false}`, body)
	})

	t.Run("HEAD", func(t *testing.T) {
		resp, body := get(t, http.MethodHead, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Empty(t, body)
	})

	for name, tt := range map[string]struct {
		params url.Values
		names  string
	}{
		"bad start":       {url.Values{"start": {"yesterday"}}, "start"},
		"bad end":         {url.Values{"end": {"12:00"}}, "end"},
		"start after end": {url.Values{"start": {"200"}, "end": {"100"}}, "start"},
		"empty window":    {url.Values{"start": {"100"}, "end": {"100"}}, "start"},
		"before 1970":     {url.Values{"start": {"-5"}, "end": {"100"}}, "start"},
		"after 2262":      {url.Values{"end": {"9999999999999"}}, "end"},
	} {
		t.Run("400 "+name, func(t *testing.T) {
			before := testutil.ToFloat64(a.failures.WithLabelValues("bad_request"))
			resp, body := get(t, http.MethodGet, tt.params)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal([]byte(body), &e))
			assert.Regexp(t, "^"+tt.names+"\\b", e.Error)
			assert.Equal(t, before+1, testutil.ToFloat64(a.failures.WithLabelValues("bad_request")))
		})
	}

	t.Run("405", func(t *testing.T) {
		resp, body := get(t, http.MethodPost, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
		assert.JSONEq(t, `{"error": "method POST not allowed"}`, body)
	})

	t.Run("503 when the request is canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/hosts", nil)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
		var e struct{ Error string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
		assert.Contains(t, e.Error, "cancel")
		assert.Equal(t, 1.0, testutil.ToFloat64(a.failures.WithLabelValues("storage")))
	})

	mfs, err := reg.Gather()
	require.NoError(t, err)
	var timed uint64
	for _, mf := range mfs {
		if mf.GetName() == "faultline_hosts_duration_seconds" {
			timed = mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	assert.Positive(t, timed, "the requests that reached the store are timed")
}

func TestNew(t *testing.T) {
	ms := openStore(t)
	_, err := New(nil, ms.Queryable(), time.Hour, nil, nil)
	assert.ErrorIs(t, err, ErrNoEngine)
	_, err = New(ms.Engine(), nil, time.Hour, nil, nil)
	assert.ErrorIs(t, err, ErrNoQueryable)
	_, err = New(ms.Engine(), ms.Queryable(), 0, nil, nil)
	assert.ErrorContains(t, err, "default window")
	reg := prometheus.NewRegistry()
	_, err = New(ms.Engine(), ms.Queryable(), time.Hour, nil, reg)
	require.NoError(t, err)
	_, err = New(ms.Engine(), ms.Queryable(), time.Hour, nil, reg)
	assert.ErrorContains(t, err, "register hosts metrics")
}
