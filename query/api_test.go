package query

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/faultline/faultline/internal/spanstore"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// base is the start of the fixture traces.
var base = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

var (
	traceA = pcommon.TraceID{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90}
	traceB = pcommon.TraceID{14: 0x0b, 15: 0x0b} // a 64-bit ID: reachable as 16 hex digits too
	traceC = pcommon.TraceID{0: 0x0c, 15: 0x0c}
	traceD = pcommon.TraceID{0: 0x0d, 15: 0x0d} // recent: found by the default lookback
)

func sid(n byte) pcommon.SpanID { return pcommon.SpanID{7: n} }

func ts(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(base.Add(d)) }

// fixtureTraces builds the test data: trace A (frontend → checkout, an error, events, links
// and attributes of every type), B (a fast frontend health check), C (a slow checkout error
// sent as two identical resources) and D (recent).
func fixtureTraces(t testing.TB) ptrace.Traces {
	td := ptrace.NewTraces()

	// Trace A, frontend part.
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "frontend")
	rs.Resource().Attributes().PutStr("host.name", "web-1")
	rs.Resource().Attributes().PutStr("service.version", "1.2.3")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("frontend-tracer")
	ss.Scope().SetVersion("0.1")
	root := ss.Spans().AppendEmpty()
	root.SetTraceID(traceA)
	root.SetSpanID(sid(1))
	root.SetName("GET /checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetFlags(0x101)
	root.SetStartTimestamp(ts(0))
	root.SetEndTimestamp(ts(250 * time.Millisecond))
	attrs := root.Attributes()
	attrs.PutStr("http.method", "GET")
	attrs.PutInt("http.status_code", 500)
	attrs.PutDouble("ratio", 0.5)
	attrs.PutDouble("nan", 0)
	v, _ := attrs.Get("nan")
	v.SetDouble(nanValue())
	attrs.PutBool("cache.hit", true)
	attrs.PutEmptyBytes("raw").FromRaw([]byte{1, 2, 3})
	require.NoError(t, attrs.PutEmptySlice("tags").FromRaw([]any{"a", int64(1), true}))
	require.NoError(t, attrs.PutEmptyMap("nested").FromRaw(map[string]any{"k": "v", "n": int64(2)}))
	attrs.PutEmpty("nothing")
	attrs.PutStr("user.comment", `<script>alert("x")</script>`)

	// Trace A, checkout part: a client span that fails, and a database call under it.
	rs = td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss = rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("checkout-tracer")
	charge := ss.Spans().AppendEmpty()
	charge.SetTraceID(traceA)
	charge.SetSpanID(sid(2))
	charge.SetParentSpanID(sid(1))
	charge.SetName("charge")
	charge.SetKind(ptrace.SpanKindClient)
	charge.TraceState().FromRaw("vendor=x")
	charge.SetStartTimestamp(ts(10 * time.Millisecond))
	charge.SetEndTimestamp(ts(210 * time.Millisecond))
	charge.Status().SetCode(ptrace.StatusCodeError)
	charge.Status().SetMessage("card declined")
	ev := charge.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(50 * time.Millisecond))
	ev.Attributes().PutStr("exception.type", "CardError")
	ev.Attributes().PutStr("exception.message", "<b>declined</b>")
	link := charge.Links().AppendEmpty()
	link.SetTraceID(traceB)
	link.SetSpanID(sid(9))
	link.Attributes().PutStr("reason", "retry")
	db := ss.Spans().AppendEmpty()
	db.SetTraceID(traceA)
	db.SetSpanID(sid(3))
	db.SetParentSpanID(sid(2))
	db.SetName("db.query")
	db.SetStartTimestamp(ts(20 * time.Millisecond))
	db.SetEndTimestamp(ts(25 * time.Millisecond))
	db.Status().SetCode(ptrace.StatusCodeOk)
	noName := db.Events().AppendEmpty()
	noName.SetTimestamp(ts(21 * time.Millisecond))
	noName.Attributes().PutInt("rows", 3)

	// Trace B.
	rs = td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "frontend")
	health := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	health.SetTraceID(traceB)
	health.SetSpanID(sid(9))
	health.SetName("GET /health")
	health.SetKind(ptrace.SpanKindServer)
	health.SetStartTimestamp(ts(time.Second))
	health.SetEndTimestamp(ts(time.Second + 5*time.Millisecond))
	health.Attributes().PutStr("http.method", "GET")
	health.Status().SetCode(ptrace.StatusCodeOk)

	// Trace C: one service sent twice with the same resource.
	for i := range 2 {
		rs = td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "checkout")
		rs.Resource().Attributes().PutStr("host.name", "pay-1")
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(traceC)
		s.SetSpanID(sid(byte(0x20 + i)))
		s.SetName("charge")
		s.SetKind(ptrace.SpanKindServer)
		if i == 1 {
			s.SetParentSpanID(sid(0x20))
			s.SetName("validate")
			s.SetKind(ptrace.SpanKindInternal)
		}
		s.SetStartTimestamp(ts(2*time.Second + time.Duration(i)*time.Millisecond))
		s.SetEndTimestamp(ts(3 * time.Second))
		s.Status().SetCode(ptrace.StatusCodeError)
	}
	return td
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

// recentTrace is trace D, which starts a minute ago.
func recentTrace() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "frontend")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(traceD)
	s.SetSpanID(sid(0x40))
	s.SetName("GET /recent")
	start := time.Now().Add(-time.Minute)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	return td
}

// openStore opens a real span store in a temporary directory, closed when the test ends.
func openStore(t testing.TB) *spanstore.Store {
	t.Helper()
	cfg := spanstore.Config{Retention: 50 * 365 * 24 * time.Hour, RetentionInterval: time.Hour}
	store, err := spanstore.Open(cfg, t.TempDir(), false, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	return store
}

// testServer serves the API over a real store holding the fixture traces.
type testServer struct {
	*httptest.Server
	api  *API
	reg  *prometheus.Registry
	logs *bytes.Buffer
}

func newTestServer(t testing.TB, reader spanstore.Reader) *testServer {
	t.Helper()
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	reg := prometheus.NewRegistry()
	api, err := NewAPI(testCfg, reader, logger, reg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, api: api, reg: reg, logs: logs}
}

func newFixtureServer(t testing.TB) *testServer {
	t.Helper()
	store := openStore(t)
	require.NoError(t, store.Write(context.Background(), fixtureTraces(t), recentTrace()))
	return newTestServer(t, store)
}

// get fetches path and returns the status and body, checking the answer is JSON.
func (s *testServer) get(t testing.TB, path string) (int, string) {
	t.Helper()
	return s.do(t, http.MethodGet, path)
}

func (s *testServer) do(t testing.TB, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	require.NoError(t, err)
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"), "%s %s", method, path)
	assert.True(t, json.Valid(body), "%s %s: not JSON: %s", method, path, body)
	return resp.StatusCode, string(body)
}

// golden compares got (JSON) with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		var buf bytes.Buffer
		require.NoError(t, json.Indent(&buf, []byte(got), "", "  "))
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create it")
	assert.JSONEq(t, string(want), got)
}

func micros(d time.Duration) string { return fmt.Sprint(base.Add(d).UnixMicro()) }

func TestServices(t *testing.T) {
	srv := newFixtureServer(t)
	code, body := srv.get(t, "/api/v1/services")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"services":["checkout","frontend"]}`, body)

	code, body = srv.get(t, "/jaeger/api/services")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"data":["checkout","frontend"],"total":2,"limit":0,"offset":0,"errors":null}`, body)

	empty := newTestServer(t, openStore(t))
	code, body = empty.get(t, "/api/v1/services")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"services":[]}`, body)
	code, body = empty.get(t, "/jaeger/api/services")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`, body)
}

func TestTraceSearch(t *testing.T) {
	srv := newFixtureServer(t)
	window := "start=" + url.QueryEscape(base.Format(time.RFC3339)) + "&end=" + fmt.Sprint(base.Add(time.Hour).Unix())

	code, body := srv.get(t, "/api/v1/traces?"+window)
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"traces":[
		{"trace_id":"0c00000000000000000000000000000c","root_service":"checkout","root_operation":"charge",
		 "start":"2026-05-01T10:00:02.000000000Z","duration_ms":1000,"span_count":2,"error":true},
		{"trace_id":"00000000000000000000000000000b0b","root_service":"frontend","root_operation":"GET /health",
		 "start":"2026-05-01T10:00:01.000000000Z","duration_ms":5,"span_count":1,"error":false},
		{"trace_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90","root_service":"frontend","root_operation":"GET /checkout",
		 "start":"2026-05-01T10:00:00.000000000Z","duration_ms":250,"span_count":3,"error":true}
	]}`, body)

	tests := []struct {
		name, query string
		want        []string // trace IDs, newest first
	}{
		{"service", "service=checkout", []string{"0c00000000000000000000000000000c", "a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"operation", "service=frontend&operation=GET+/health", []string{"00000000000000000000000000000b0b"}},
		{"error status", "status=error", []string{"0c00000000000000000000000000000c", "a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"ok status", "status=ok&service=frontend", []string{"00000000000000000000000000000b0b", "a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"attribute", "attr=http.status_code=500", []string{"a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"resource attribute", "attr=host.name=pay-1", []string{"0c00000000000000000000000000000c"}},
		{"two attributes on one span", "attr=http.method=GET&attr=cache.hit=true", []string{"a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"min duration", "minDuration=500ms", []string{"0c00000000000000000000000000000c"}},
		{"duration range in seconds", "minDuration=0.1&maxDuration=0.3", []string{"a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"limit", "limit=2", []string{"0c00000000000000000000000000000c", "00000000000000000000000000000b0b"}},
		{"limit 1", "limit=1", []string{"0c00000000000000000000000000000c"}},
		{"nothing matches", "service=nobody", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := srv.get(t, "/api/v1/traces?"+window+"&"+tt.query)
			require.Equal(t, http.StatusOK, code, body)
			var got struct {
				Traces []struct {
					TraceID string `json:"trace_id"`
				} `json:"traces"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			require.NotNil(t, got.Traces, "traces must be a list, not null: %s", body)
			ids := []string{}
			for _, tr := range got.Traces {
				ids = append(ids, tr.TraceID)
			}
			assert.Equal(t, tt.want, ids)
		})
	}

	t.Run("default window is the last hour", func(t *testing.T) {
		code, body := srv.get(t, "/api/v1/traces")
		require.Equal(t, http.StatusOK, code, body)
		assert.Contains(t, body, `"trace_id":"0d00000000000000000000000000000d"`)
		assert.NotContains(t, body, "a1b2c3d4")
	})
}

// TestBadRequests checks that every route answers a bad parameter with 400 and a message
// naming it, in the route's error format.
func TestBadRequests(t *testing.T) {
	srv := newFixtureServer(t)
	tests := []struct{ path, want string }{
		{"/api/v1/traces?limit=0", `{"error":"limit: 0 is not between 1 and 1000"}`},
		{"/api/v1/traces?start=yesterday", `{"error":"start: \"yesterday\" is neither RFC 3339 nor Unix seconds"}`},
		{"/api/v1/traces?status=bad", `{"error":"status: \"bad\" must be error or ok"}`},
		{"/api/v1/traces?attr=x", `{"error":"attr: \"x\" must be key=value with a non-empty key"}`},
		{"/api/v1/traces?minDuration=2s&maxDuration=1s", `{"error":"minDuration (2s) must not be greater than maxDuration (1s)"}`},
		{"/api/v1/traces?service=a;b", `{"error":"query string: invalid semicolon separator in query"}`},
		{"/api/v1/traces/xyz", `{"error":"trace_id: \"xyz\" must be 32 hex digits (or 16)"}`},
		{"/api/v1/traces/00000000000000000000000000000000", `{"error":"trace_id: must not be all zeros"}`},
		{"/api/v1/traces/a1b2c3d4e5f60718293a4b5c6d7e8f9g", `{"error":"trace_id: \"a1b2c3d4e5f60718293a4b5c6d7e8f9g\" is not hexadecimal"}`},
		{"/jaeger/api/traces", `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter 'service' is required"}]}`},
		{"/jaeger/api/traces?service=a&start=now", `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"start: \"now\" is not an integer number of microseconds since the epoch"}]}`},
		{"/jaeger/api/traces?service=a&tags=%7Bbad", `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"tags: not a JSON object of strings: invalid character 'b' looking for beginning of object key string"}]}`},
		{"/jaeger/api/traces/xyz", `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"trace_id: \"00000000000000000000000000000xyz\" is not hexadecimal"}]}`},
		{"/jaeger/api/operations", `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter 'service' is required"}]}`},
		{"/jaeger/api/operations?service=a&spanKind=weird", `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"spanKind: \"weird\" must be server, client, producer, consumer, internal or unspecified"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := srv.get(t, tt.path)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.JSONEq(t, tt.want, body)
		})
	}
	assert.Empty(t, srv.logs.String(), "bad requests are not logged as failures")
}

func TestTrace(t *testing.T) {
	srv := newFixtureServer(t)
	code, body := srv.get(t, "/api/v1/traces/a1b2c3d4e5f60718293a4b5c6d7e8f90")
	require.Equal(t, http.StatusOK, code, body)
	golden(t, "trace.json", body)

	// Attribute values come back typed, and markup only as an escaped JSON string.
	assert.Contains(t, body, `"user.comment":"\u003cscript\u003ealert(\"x\")\u003c/script\u003e"`)
	assert.NotContains(t, body, "<script>")
	var got traceJSON
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Len(t, got.Spans, 3)
	assert.Equal(t, map[string]any{
		"http.method": "GET", "http.status_code": 500.0, "ratio": 0.5, "nan": "NaN", "cache.hit": true,
		"raw": "AQID", "tags": []any{"a", 1.0, true}, "nested": map[string]any{"k": "v", "n": 2.0},
		"nothing": nil, "user.comment": `<script>alert("x")</script>`,
	}, got.Spans[0].Attributes)
	for i, want := range []string{"0000000000000001", "0000000000000002", "0000000000000003"} {
		assert.Equal(t, want, got.Spans[i].SpanID, "spans sorted by start")
	}
	assert.Equal(t, "", got.Spans[0].ParentSpanID)

	t.Run("16 hex digits and upper case", func(t *testing.T) {
		code, body := srv.get(t, "/api/v1/traces/0000000000000B0B")
		require.Equal(t, http.StatusOK, code, body)
		assert.JSONEq(t, `{"trace_id":"00000000000000000000000000000b0b","spans":[{
			"span_id":"0000000000000009","parent_span_id":"","service":"frontend","name":"GET /health",
			"kind":"server","start_unix_nano":1777629601000000000,"end_unix_nano":1777629601005000000,
			"duration_ms":5,"status":{"code":"ok","message":""},"attributes":{"http.method":"GET"},
			"events":[],"links":[],"resource":{"service.name":"frontend"},"scope":{"name":"","version":""}}]}`, body)
	})

	t.Run("unknown", func(t *testing.T) {
		code, body := srv.get(t, "/api/v1/traces/0102030405060708090a0b0c0d0e0f10")
		assert.Equal(t, http.StatusNotFound, code)
		assert.JSONEq(t, `{"error":"trace not found"}`, body)
	})
}

func TestJaegerOperations(t *testing.T) {
	srv := newFixtureServer(t)
	tests := []struct{ path, want string }{
		{"/jaeger/api/services/checkout/operations", `{"data":["charge","db.query","validate"],"total":3,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/services/nobody/operations", `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/operations?service=checkout", `{"data":[
			{"name":"charge","spanKind":"server"},{"name":"charge","spanKind":"client"},
			{"name":"db.query","spanKind":""},{"name":"validate","spanKind":"internal"}],"total":4,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/operations?service=checkout&spanKind=server", `{"data":[{"name":"charge","spanKind":"server"}],"total":1,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/operations?service=checkout&spanKind=unspecified", `{"data":[{"name":"db.query","spanKind":""}],"total":1,"limit":0,"offset":0,"errors":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := srv.get(t, tt.path)
			assert.Equal(t, http.StatusOK, code)
			assert.JSONEq(t, tt.want, body)
		})
	}
}

func TestJaegerTrace(t *testing.T) {
	srv := newFixtureServer(t)
	code, body := srv.get(t, "/jaeger/api/traces/a1b2c3d4e5f60718293a4b5c6d7e8f90")
	require.Equal(t, http.StatusOK, code, body)
	golden(t, "jaeger_trace.json", body)
	assert.NotContains(t, body, "<script>")

	// Identical resources share one process.
	code, body = srv.get(t, "/jaeger/api/traces/0c00000000000000000000000000000c")
	require.Equal(t, http.StatusOK, code, body)
	var resp struct {
		Data []jaegerTrace `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	require.Len(t, resp.Data, 1)
	assert.Equal(t, map[string]jaegerProcess{"p1": {ServiceName: "checkout", Tags: []jaegerKeyValue{{Key: "host.name", Type: "string", Value: "pay-1"}}}}, resp.Data[0].Processes)
	require.Len(t, resp.Data[0].Spans, 2)
	assert.Equal(t, "p1", resp.Data[0].Spans[1].ProcessID)

	// Jaeger's short form of a 64-bit ID: leading zeros dropped.
	code, body = srv.get(t, "/jaeger/api/traces/b0b")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"traceID":"00000000000000000000000000000b0b"`)

	code, body = srv.get(t, "/jaeger/api/traces/0102030405060708090a0b0c0d0e0f10")
	assert.Equal(t, http.StatusNotFound, code)
	assert.JSONEq(t, `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}`, body)
}

func TestJaegerTraceSearch(t *testing.T) {
	srv := newFixtureServer(t)
	window := "&start=" + micros(0) + "&end=" + micros(time.Hour)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"service", "service=frontend", []string{"00000000000000000000000000000b0b", "a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"operation", "service=checkout&operation=validate", []string{"0c00000000000000000000000000000c"}},
		{"JSON tags", "service=frontend&tags=" + url.QueryEscape(`{"http.status_code":"500"}`), []string{"a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"logfmt tags", "service=checkout&tags=" + url.QueryEscape(`error=true otel.status_description="card declined"`), []string{}},
		{"tag pairs", "service=frontend&tag=http.method:GET&limit=1", []string{"00000000000000000000000000000b0b"}},
		{"durations", "service=checkout&minDuration=100ms&maxDuration=1.2s", []string{"0c00000000000000000000000000000c", "a1b2c3d4e5f60718293a4b5c6d7e8f90"}},
		{"by trace ID", "traceID=a1b2c3d4e5f60718293a4b5c6d7e8f90&traceID=b0b", []string{"a1b2c3d4e5f60718293a4b5c6d7e8f90", "00000000000000000000000000000b0b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := srv.get(t, "/jaeger/api/traces?"+tt.query+window)
			require.Equal(t, http.StatusOK, code, body)
			var resp struct {
				Data   []jaegerTrace `json:"data"`
				Total  int           `json:"total"`
				Errors []jaegerError `json:"errors"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &resp))
			require.NotNil(t, resp.Data, "data must be a list: %s", body)
			ids := []string{}
			for _, tr := range resp.Data {
				ids = append(ids, tr.TraceID)
				require.NotEmpty(t, tr.Spans)
				for _, s := range tr.Spans {
					assert.Equal(t, tr.TraceID, s.TraceID)
					assert.Contains(t, tr.Processes, s.ProcessID)
				}
			}
			assert.Equal(t, tt.want, ids)
			assert.Equal(t, len(tt.want), resp.Total)
			assert.Nil(t, resp.Errors)
		})
	}

	t.Run("unknown trace ID is reported, not fatal", func(t *testing.T) {
		code, body := srv.get(t, "/jaeger/api/traces?traceID=0102030405060708090a0b0c0d0e0f10")
		require.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{"data":[],"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found","traceID":"0102030405060708090a0b0c0d0e0f10"}]}`, body)
	})
}

func TestMethodNotAllowed(t *testing.T) {
	srv := newFixtureServer(t)
	for _, path := range []string{"/api/v1/services", "/api/v1/traces", "/api/v1/traces/a1b2c3d4e5f60718293a4b5c6d7e8f90"} {
		code, body := srv.do(t, http.MethodPost, path)
		assert.Equal(t, http.StatusMethodNotAllowed, code, path)
		assert.JSONEq(t, `{"error":"method not allowed: use GET"}`, body)
	}
	code, body := srv.do(t, http.MethodDelete, "/jaeger/api/traces/abc")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.JSONEq(t, `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":405,"msg":"method not allowed: use GET"}]}`, body)

	req, err := http.NewRequest(http.MethodHead, srv.URL+"/api/v1/services", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "HEAD is GET without the body")
}

// TestStoreFailure uses errReader, a stub that fails every call: the real store cannot be
// made to fail on demand.
func TestStoreFailure(t *testing.T) {
	srv := newTestServer(t, errReader{})
	paths := []string{
		"/api/v1/services", "/api/v1/traces", "/api/v1/traces/a1b2c3d4e5f60718293a4b5c6d7e8f90",
		"/jaeger/api/services", "/jaeger/api/services/x/operations", "/jaeger/api/operations?service=x",
		"/jaeger/api/traces?service=x", "/jaeger/api/traces/a1b2c3d4e5f60718293a4b5c6d7e8f90",
	}
	for _, path := range paths {
		code, body := srv.get(t, path)
		assert.Equal(t, http.StatusInternalServerError, code, path)
		if strings.HasPrefix(path, "/jaeger/") {
			assert.JSONEq(t, `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"internal error: span store query failed"}]}`, body)
		} else {
			assert.JSONEq(t, `{"error":"internal error: span store query failed"}`, body)
		}
	}
	logs := strings.Split(strings.TrimSpace(srv.logs.String()), "\n")
	require.Len(t, logs, len(paths), "one log line per failed request")
	assert.Contains(t, logs[0], `level=ERROR msg="query span store" route="GET /api/v1/services" err="disk on fire"`)
}

func TestMetrics(t *testing.T) {
	srv := newFixtureServer(t)
	srv.get(t, "/api/v1/traces/a1b2c3d4e5f60718293a4b5c6d7e8f90")
	srv.get(t, "/api/v1/traces/0000000000000b0b")
	srv.get(t, "/api/v1/traces/0102030405060708090a0b0c0d0e0f10")
	srv.do(t, http.MethodPost, "/api/v1/services")

	families, err := srv.reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			labels := []string{}
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			if h := m.GetHistogram(); h != nil {
				got[key] = float64(h.GetSampleCount())
			} else {
				got[key] = m.GetCounter().GetValue()
			}
		}
	}
	assert.Equal(t, map[string]float64{
		"faultline_query_requests_total{code=200,route=GET /api/v1/traces/{trace_id}}":  2,
		"faultline_query_requests_total{code=404,route=GET /api/v1/traces/{trace_id}}":  1,
		"faultline_query_requests_total{code=405,route=/api/v1/services}":               1,
		"faultline_query_request_duration_seconds{route=GET /api/v1/traces/{trace_id}}": 3,
		"faultline_query_request_duration_seconds{route=/api/v1/services}":              1,
	}, got)

	_, err = NewAPI(testCfg, errReader{}, nil, registryWith(t, srv.api))
	assert.ErrorContains(t, err, "register query API metrics")
}

// registryWith is a registry already holding api's metrics.
func registryWith(t *testing.T, api *API) prometheus.Registerer {
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(api.requests))
	return reg
}
