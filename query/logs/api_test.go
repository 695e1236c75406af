package logs

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/faultline/faultline/internal/logstore"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// newServer serves the API over a real log store holding a few records.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	var cfg logstore.Config
	cfg.RegisterFlags(flag.NewFlagSet("logs", flag.ContinueOnError))
	store, err := logstore.Open(cfg, filepath.Join(t.TempDir(), "logs"), false, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })

	ld := plog.NewLogs()
	add := func(service, host string, sev plog.SeverityNumber, at time.Time, body string, trace byte) plog.LogRecord {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		rl.Resource().Attributes().PutStr("host.name", host)
		r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(at))
		r.SetSeverityNumber(sev)
		r.Body().SetStr(body)
		if trace != 0 {
			r.SetTraceID(pcommon.TraceID{trace, 1})
			r.SetSpanID(pcommon.SpanID{trace})
		}
		return r
	}
	add("checkout", "web-1", plog.SeverityNumberInfo, t0.Add(-3*time.Minute), "order 17 placed", 0)
	r := add("checkout", "web-1", plog.SeverityNumberError, t0.Add(-2*time.Minute), "payment timeout after 3s", 0xab)
	r.Attributes().PutStr("order.id", "17")
	r.Attributes().PutInt("attempt", 3)
	add("payment", "web-2", plog.SeverityNumberWarn, t0.Add(-time.Minute), "gateway slow \xff\xfe", 0)
	add("payment", "web-2", plog.SeverityNumberFatal, t0.Add(-2*time.Hour), "outside the default window", 0)
	require.NoError(t, store.Write(context.Background(), ld))

	api := NewAPI(store, time.Hour, slog.New(slog.DiscardHandler))
	api.now = func() time.Time { return t0 }
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, params url.Values) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/api/v1/logs?" + params.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func bodies(t *testing.T, srv *httptest.Server, params url.Values) []string {
	t.Helper()
	code, raw := get(t, srv, params)
	require.Equal(t, http.StatusOK, code, raw)
	var out struct{ Logs []Line }
	require.NoError(t, json.Unmarshal([]byte(raw), &out))
	got := []string{}
	for _, l := range out.Logs {
		got = append(got, l.Body)
	}
	return got
}

func TestAnswerShape(t *testing.T) {
	srv := newServer(t)
	code, raw := get(t, srv, url.Values{"trace_id": {"ab010000000000000000000000000000"}})
	require.Equal(t, http.StatusOK, code, raw)
	require.JSONEq(t, `{"logs":[{
		"time":"2026-11-22T09:58:00Z","service":"checkout","host":"web-1","severity":"ERROR","severity_number":17,
		"body":"payment timeout after 3s","trace_id":"ab010000000000000000000000000000","span_id":"ab00000000000000",
		"attributes":{"order.id":"17","attempt":3}}]}`, raw)
}

func TestFilters(t *testing.T) {
	srv := newServer(t)
	for name, c := range map[string]struct {
		params url.Values
		want   []string
	}{
		"newest first in the default last hour": {url.Values{}, []string{"gateway slow \uFFFD", "payment timeout after 3s", "order 17 placed"}},
		"service":                               {url.Values{"service": {"checkout"}}, []string{"payment timeout after 3s", "order 17 placed"}},
		"host":                                  {url.Values{"host": {"web-2"}}, []string{"gateway slow \uFFFD"}},
		"severity is a minimum":                 {url.Values{"severity": {"warn"}}, []string{"gateway slow \uFFFD", "payment timeout after 3s"}},
		"severity as a number":                  {url.Values{"severity": {"17"}}, []string{"payment timeout after 3s"}},
		"text term":                             {url.Values{"q": {"TIMEOUT"}}, []string{"payment timeout after 3s"}},
		"text phrase and excluded":              {url.Values{"q": {`"order 17" -payment`}}, []string{"order 17 placed"}},
		"limit":                                 {url.Values{"limit": {"1"}}, []string{"gateway slow \uFFFD"}},
		"explicit window":                       {url.Values{"start": {t0.Add(-3 * time.Hour).Format(time.RFC3339)}, "end": {t0.Add(-90 * time.Minute).Format(time.RFC3339)}}, []string{"outside the default window"}},
		"nothing":                               {url.Values{"service": {"nope"}}, []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, c.want, bodies(t, srv, c.params))
		})
	}
}

func TestBadRequests(t *testing.T) {
	srv := newServer(t)
	for param, value := range map[string]string{
		"trace_id": "xyz",
		"severity": "loud",
		"limit":    "5001",
		"q":        `"unbalanced`,
		"start":    "yesterday",
	} {
		code, raw := get(t, srv, url.Values{param: {value}})
		require.Equal(t, http.StatusBadRequest, code, param)
		require.Contains(t, raw, param, "the error names the parameter")
	}
	code, raw := get(t, srv, url.Values{"trace_id": {strings.Repeat("0", 32)}})
	require.Equal(t, http.StatusBadRequest, code, raw)

	resp, err := srv.Client().Post(srv.URL+"/api/v1/logs", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"q=a+%22b+c%22&severity=warn&limit=10", "trace_id=0af7651916cd43dd8448eb211c80319c", "severity=99", "start=1&end=0", "q=%22"} {
		f.Add(s)
	}
	api := NewAPI(nil, time.Hour, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := api.parse(v)
		if err == nil && (q.Limit < 1 || q.Limit > MaxLimit || !q.Start.Before(q.End) || q.MinSeverity < 0 || q.MinSeverity > 24) {
			t.Fatalf("accepted an out-of-range query %+v from %q", q, raw)
		}
	})
}

// TestNonFiniteAttributes: NaN and infinite doubles, which encoding/json refuses, come back
// as strings at any depth instead of cutting the answer short.
func TestNonFiniteAttributes(t *testing.T) {
	var cfg logstore.Config
	cfg.RegisterFlags(flag.NewFlagSet("logs", flag.ContinueOnError))
	store, err := logstore.Open(cfg, t.TempDir(), false, nil, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, store.Close()) }()
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(-time.Minute)))
	r.Body().SetStr("odd numbers")
	r.Attributes().PutDouble("nan", math.NaN())
	r.Attributes().PutDouble("ok", 0.5)
	r.Attributes().PutEmptySlice("list").AppendEmpty().SetDouble(math.Inf(1))
	r.Attributes().PutEmptyMap("map").PutDouble("neg", math.Inf(-1))
	require.NoError(t, store.Write(context.Background(), ld))

	api := NewAPI(store, time.Hour, slog.New(slog.DiscardHandler))
	api.now = func() time.Time { return t0 }
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/logs", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out struct{ Logs []Line }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	require.Len(t, out.Logs, 1)
	require.Equal(t, map[string]any{"nan": "NaN", "ok": 0.5, "list": []any{"+Inf"}, "map": map[string]any{"neg": "-Inf"}}, out.Logs[0].Attributes)
}

// TestStoreFailure: a store that fails (here: closed) is a 500 naming the failure.
func TestStoreFailure(t *testing.T) {
	var cfg logstore.Config
	cfg.RegisterFlags(flag.NewFlagSet("logs", flag.ContinueOnError))
	store, err := logstore.Open(cfg, t.TempDir(), false, nil, nil)
	require.NoError(t, err)
	require.NoError(t, store.Close())
	api := NewAPI(store, time.Hour, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/logs", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.JSONEq(t, `{"error":"log store closed"}`, rec.Body.String())

	// A request whose context is done before the search is a 503.
	open, err := logstore.Open(cfg, t.TempDir(), false, nil, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, open.Close()) }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	api = NewAPI(canceledSearcher{open}, time.Hour, slog.New(slog.DiscardHandler))
	rec = httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/logs", nil).WithContext(ctx))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
}

// canceledSearcher passes the request's context to a real store and answers its error:
// the store checks the context only every 256 blocks, so an empty store would not notice a
// canceled request by itself.
type canceledSearcher struct{ s *logstore.Store }

func (c canceledSearcher) Search(ctx context.Context, q logstore.Query) ([]logstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.s.Search(ctx, q)
}

func TestMoreBadRequests(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"start": {"2000"}, "end": {"1000"}}, "start (1970-01-01T00:33:20Z) must be before end (1970-01-01T00:16:40Z)"},
		{url.Values{"start": {"1000"}, "end": {"1000"}}, "must be before end"},
		{url.Values{"limit": {"0"}}, "limit"},
		{url.Values{"limit": {"ten"}}, "limit"},
		{url.Values{"severity": {"0"}}, "severity"},
		{url.Values{"severity": {"25"}}, "severity"},
		{url.Values{"trace_id": {strings.Repeat("a", 31)}}, "trace_id"},
		{url.Values{"trace_id": {strings.Repeat("g", 32)}}, "trace_id"},
		{url.Values{"q": {`a"b`}}, "q: "},
		{url.Values{"q": {"-"}}, "q: "},
		{url.Values{"end": {"-5"}}, "end"},
	} {
		code, raw := get(t, srv, c.params)
		require.Equal(t, http.StatusBadRequest, code, "%v: %s", c.params, raw)
		require.Contains(t, raw, c.want, c.params)
	}
	for _, ok := range []url.Values{
		{"limit": {"5000"}},
		{"severity": {"FATAL"}},
		{"severity": {"Warning"}},
		{"severity": {"24"}},
		{"trace_id": {"AB010000000000000000000000000000"}},
	} {
		code, raw := get(t, srv, ok)
		require.Equal(t, http.StatusOK, code, "%v: %s", ok, raw)
	}
	resp, err := srv.Client().Head(srv.URL + "/api/v1/logs")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/logs", nil)
	require.NoError(t, err)
	resp, err = srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}
