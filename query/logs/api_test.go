package logs

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
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
