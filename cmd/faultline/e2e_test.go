package main_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/faultline/faultline/internal/apptest"
	"github.com/faultline/faultline/ui"
)

func TestTracesRoundTripAndRestart(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir())
	id, sent := sendCheckoutTrace(t, f)
	requireTraceIntact(t, f, id, sent)

	var services struct{ Services []string }
	getJSON(t, f, "/api/v1/services", http.StatusOK, &services)
	require.Subset(t, services.Services, []string{"checkout", "payment"})

	var found struct {
		Traces []struct {
			TraceID       string `json:"trace_id"`
			RootService   string `json:"root_service"`
			RootOperation string `json:"root_operation"`
			SpanCount     int    `json:"span_count"`
			Error         bool   `json:"error"`
		}
	}
	getJSON(t, f, "/api/v1/traces?service=payment&status=error&attr=exception.type=CardDeclined", http.StatusOK, &found)
	// The attribute is on an event, not the span: no match. The span-level search below matches.
	require.Empty(t, found.Traces)
	getJSON(t, f, "/api/v1/traces?service=payment&operation=Charge&status=error", http.StatusOK, &found)
	require.Len(t, found.Traces, 1)
	require.Equal(t, id.String(), found.Traces[0].TraceID)
	require.Equal(t, "checkout", found.Traces[0].RootService)
	require.Equal(t, "POST /checkout", found.Traces[0].RootOperation)
	require.Equal(t, 3, found.Traces[0].SpanCount)
	require.True(t, found.Traces[0].Error)

	var jaeger struct {
		Data []struct {
			TraceID   string `json:"traceID"`
			Spans     []map[string]any
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			}
		}
	}
	getJSON(t, f, "/jaeger/api/traces/"+id.String(), http.StatusOK, &jaeger)
	require.Len(t, jaeger.Data, 1)
	require.Len(t, jaeger.Data[0].Spans, 3)
	var names []string
	for _, p := range jaeger.Data[0].Processes {
		names = append(names, p.ServiceName)
	}
	require.ElementsMatch(t, []string{"checkout", "payment"}, names)

	require.GreaterOrEqual(t, metricValue(t, f, "faultline_spans_stored_total"), 3.0)

	f.Stop()
	require.Contains(t, f.Logs(), "ingest queue drained")
	f.Start()
	requireTraceIntact(t, f, id, sent)
}

func TestKill9KeepsAcknowledgedSpans(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir())
	ctx := context.Background()
	tp, _ := newProvider(t, f, "kill9", false)
	tr := tp.Tracer("e2e/kill9")
	var ids []trace.TraceID
	for batch := 0; batch < 10; batch++ {
		for i := 0; i < 50; i++ {
			c, root := tr.Start(ctx, "root", trace.WithNewRoot())
			_, child := tr.Start(c, "child")
			child.End()
			root.End()
			ids = append(ids, root.SpanContext().TraceID())
		}
		// ForceFlush returns once the collector acknowledged the export.
		require.NoError(t, tp.ForceFlush(ctx))
	}
	f.Kill()
	f.Start()
	for _, id := range ids {
		var got apiTrace
		getJSON(t, f, "/api/v1/traces/"+id.String(), http.StatusOK, &got)
		require.Len(t, got.Spans, 2, id.String())
	}
}

func TestBadInputGetsClearErrors(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-otlp.max-request-mib=1", "-otlp.max-spans-per-request=100")
	post := func(contentType string, body []byte) (int, string) {
		resp, err := f.Client.Post("http://"+f.OTLPHTTP+"/v1/traces", contentType, bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const pb, js = "application/x-protobuf", "application/json"
	huge := make([]byte, 2<<20)
	for i := range huge {
		huge[i] = 'a'
	}
	cases := []struct {
		name, contentType string
		body              []byte
		want              int
		msg               string
	}{
		{"malformed protobuf", pb, []byte("\xff\xff\xff\xffgarbage"), 400, ""},
		{"malformed JSON", js, []byte(`{"resourceSpans": [`), 400, ""},
		{"empty body", pb, nil, 400, "empty request body"},
		{"invalid trace ID", js, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"0102030405060708","name":"x"}]}]}]}`), 400, ""},
		{"empty trace ID", js, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"","spanId":"0102030405060708","name":"x"}]}]}]}`), 400, "empty trace ID"},
		{"oversized request", js, append(append([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"stringValue":"`), huge...), []byte(`"}}]}}]}`)...), 400, ""},
		{"too many spans", js, jsonSpans(101), 400, "otlp.max-spans-per-request"},
		{"unsupported content type", "text/plain", []byte("hello"), 415, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.contentType, tc.body)
			require.Equalf(t, tc.want, code, "body: %s", body)
			require.Contains(t, body, tc.msg)
		})
	}

	t.Run("gRPC", func(t *testing.T) {
		conn, err := grpc.NewClient(f.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer conn.Close()
		client := ptraceotlp.NewGRPCClient(conn)
		ctx := context.Background()

		_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(pdataSpans(101, 0)))
		require.Equal(t, codes.InvalidArgument, status.Code(err), "too many spans: %v", err)
		_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(pdataSpans(1, 2<<20)))
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "oversized: %v", err)
		_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(pdataSpans(10, 0)))
		require.NoError(t, err, "a good request after the bad ones")
	})

	t.Run("query API", func(t *testing.T) {
		for _, path := range []string{
			"/api/v1/traces/not-a-trace-id",
			"/api/v1/traces/00000000000000000000000000000000",
			"/api/v1/traces?limit=-1",
			"/api/v1/traces?start=yesterday",
			"/api/v1/traces?minDuration=2s&maxDuration=1s",
			"/api/v1/traces?attr=novalue",
		} {
			var e struct{ Error string }
			getJSON(t, f, path, http.StatusBadRequest, &e)
			require.NotEmpty(t, e.Error, path)
		}
		var e struct{ Error string }
		getJSON(t, f, "/api/v1/traces/0102030405060708090a0b0c0d0e0f10", http.StatusNotFound, &e)
	})

	require.NoError(t, f.WaitReady(time.Second), "still serving after bad input")
	code, body := post(js, jsonSpans(3))
	require.Equal(t, 200, code, body)
	require.Equal(t, 101.0+101.0, metricValue(t, f, `faultline_spans_refused_total{reason="too_many_spans"}`))
	require.Equal(t, 1.0, metricValue(t, f, `faultline_spans_refused_total{reason="invalid_id"}`))
}

func TestFullQueueTellsClientsToBackOff(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-ingest.queue.max-spans=1", "-ingest.queue.writers=1")
	body := jsonSpans(500)
	var ok, throttled atomic.Int64
	var retryAfter atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && throttled.Load() < 5 {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+f.OTLPHTTP+"/v1/traces", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					throttled.Add(1)
					retryAfter.Store(resp.Header.Get("Retry-After"))
				default:
					t.Errorf("unexpected status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	require.GreaterOrEqual(t, throttled.Load(), int64(1), "a full queue must answer 429")
	require.Equal(t, "1", retryAfter.Load())
	require.Positive(t, ok.Load())
	// Every acknowledged request is stored; every refused one is counted, none silently lost.
	require.Equal(t, float64(500*ok.Load()), metricValue(t, f, "faultline_spans_stored_total"))
	require.Equal(t, float64(500*throttled.Load()), metricValue(t, f, `faultline_spans_refused_total{reason="queue_full"}`))
}

func TestTLSAndTokens(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	const token = "s3cret-token-value"
	f := apptest.StartFaultline(t, faultlineBin, filepath.Join(dir, "data"),
		"-otlp.tls-cert-file="+certFile, "-otlp.tls-key-file="+keyFile, "-otlp.auth-token="+token,
		"-http.tls-cert-file="+certFile, "-http.tls-key-file="+keyFile, "-http.auth-token="+token)
	ctx := context.Background()
	export := func(headers map[string]string) error {
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(f.GRPCAddr),
			otlptracegrpc.WithTLSCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})),
			otlptracegrpc.WithHeaders(headers), otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		require.NoError(t, err)
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		defer func() { _ = tp.Shutdown(ctx) }()
		_, span := tp.Tracer("tls").Start(ctx, "secure")
		span.End()
		return tp.ForceFlush(ctx)
	}
	// The syncer exports on End; errors surface through the global handler, so check the store.
	require.NoError(t, export(map[string]string{"authorization": "Bearer " + token}))
	apptest.WaitFor(t, 10*time.Second, func() bool { return metricValueWithToken(t, f, token, "faultline_spans_stored_total") == 1 }, "span stored over TLS with token")
	_ = export(map[string]string{"authorization": "Bearer wrong"})
	_ = export(nil)
	require.Equal(t, 1.0, metricValueWithToken(t, f, token, "faultline_spans_stored_total"), "no token, no spans")

	resp, err := f.Client.Get(f.URL("/api/v1/services"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = f.Client.Get(f.URL("/ready"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "/ready stays open for probes")

	resp, err = http.Post("http://"+f.OTLPHTTP+"/v1/traces", "application/json", bytes.NewReader(jsonSpans(1)))
	if err == nil {
		resp.Body.Close()
		require.NotEqual(t, http.StatusOK, resp.StatusCode, "plain HTTP must not be accepted when TLS is on")
	}
	require.NotContains(t, f.Logs(), token, "the token must never be logged")
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	good := write("good.yaml", "target: all\notlp:\n  limits:\n    max_spans_per_request: 10\nspanstore:\n  retention: 48h\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"-no.such.flag=1"}, 2, "no.such.flag"},
		{"bad flag value", []string{"-otlp.max-spans-per-request=0"}, 2, "otlp.max-spans-per-request"},
		{"bad target", []string{"-target=everything"}, 2, `target "everything"`},
		{"unknown YAML key", []string{"-config.file=" + write("bad.yaml", "otlp:\n  grpc_listen: :4317\n")}, 2, "grpc_listen"},
		{"bad YAML value", []string{"-config.file=" + write("badval.yaml", "spanstore:\n  retention: forever\n")}, 2, "forever"},
		{"missing file", []string{"-config.file=" + filepath.Join(dir, "nope.yaml")}, 2, "nope.yaml"},
		{"verify good file", []string{"-config.file=" + good, "-config.verify"}, 0, "configuration is valid"},
		{"flag overrides file", []string{"-config.file=" + good, "-otlp.max-spans-per-request=0", "-config.verify"}, 2, "otlp.max-spans-per-request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := apptest.RunFaultline(faultlineBin, tc.args...)
			require.Equal(t, tc.code, code, out)
			require.Contains(t, out, tc.want)
		})
	}

	t.Run("second process on the same data dir", func(t *testing.T) {
		f := apptest.StartFaultline(t, faultlineBin, filepath.Join(dir, "data"))
		code, out := apptest.RunFaultline(faultlineBin, "-data.dir="+f.DataDir, "-http.addr=127.0.0.1:0", "-otlp.grpc.addr=127.0.0.1:0", "-otlp.http.addr=127.0.0.1:0")
		require.Equal(t, 1, code, out)
		// Modules without a dependency between them initialise in no fixed order, so
		// either store may be the first to find its lock taken.
		require.Regexp(t, `open (span|metric|log) store`, out)
		require.Contains(t, out, f.DataDir)
	})
	t.Run("port in use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		code, out := apptest.RunFaultline(faultlineBin, "-data.dir="+filepath.Join(dir, "data2"), "-http.addr="+l.Addr().String(), "-otlp.grpc.addr=127.0.0.1:0", "-otlp.http.addr=127.0.0.1:0")
		require.Equal(t, 1, code, out)
		require.Contains(t, out, "listen on http.addr")
	})
}

// jsonSpans is an OTLP/JSON request with n spans of distinct traces.
func jsonSpans(n int) []byte {
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(pdataSpans(n, 0))
	if err != nil {
		panic(err)
	}
	return b
}

var traceSeq atomic.Uint64

// pdataSpans builds n root spans of distinct new traces; pad adds an attribute of that size.
func pdataSpans(n, pad int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "raw-client")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		seq := traceSeq.Add(1)
		var tid [16]byte
		copy(tid[:], fmt.Sprintf("%08x", now.UnixNano()&0xffffffff))
		tid[15], tid[14], tid[13] = byte(seq), byte(seq>>8), byte(seq>>16)
		s.SetTraceID(pcommon.TraceID(tid))
		s.SetSpanID(pcommon.SpanID([8]byte{1, 2, 3, 4, 5, 6, 7, byte(i + 1)}))
		s.SetName("raw")
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		if pad > 0 {
			s.Attributes().PutStr("pad", strings.Repeat("x", pad))
		}
	}
	return td
}

func metricValue(t *testing.T, f *apptest.Faultline, series string) float64 {
	return metricValueWithToken(t, f, "", series)
}

// metricValueWithToken reads one series from /metrics: a name, or a name with its labels
// exactly as exposed.
func metricValueWithToken(t *testing.T, f *apptest.Faultline, token, series string) float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.URL("/metrics"), nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			_, err := fmt.Sscan(rest, &v)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatalf("series %s not in /metrics", series)
	return 0
}

// selfSignedCert writes a certificate for localhost/127.0.0.1 and returns its files and a pool
// trusting it.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestCollectorAndQueryTargets(t *testing.T) {
	dir := t.TempDir()
	col := apptest.StartFaultline(t, faultlineBin, dir, "-target=collector")
	id, sent := sendCheckoutTrace(t, col)
	resp, err := col.Client.Get(col.URL("/api/v1/services"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the collector target serves no query API")
	require.Equal(t, 3.0, metricValue(t, col, "faultline_spans_stored_total"))
	col.Stop()

	q := apptest.StartFaultline(t, faultlineBin, dir, "-target=query")
	requireTraceIntact(t, q, id, sent)
	conn, err := net.DialTimeout("tcp", q.GRPCAddr, time.Second)
	if err == nil {
		conn.Close()
	}
	require.Error(t, err, "the query target runs no OTLP receiver")
}

func TestRetentionDeletesOldSpansInTheBackground(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-spanstore.retention=1h", "-spanstore.retention-interval=200ms")
	conn, err := grpc.NewClient(f.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	old, fresh := pdataSpans(1, 0), pdataSpans(1, 0)
	span := old.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	twoHoursAgo := time.Now().Add(-2 * time.Hour)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(twoHoursAgo))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(twoHoursAgo.Add(time.Second)))
	for _, td := range []ptrace.Traces{old, fresh} {
		_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
		require.NoError(t, err)
	}
	traceURL := func(td ptrace.Traces) string {
		return "/api/v1/traces/" + td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String()
	}
	apptest.WaitFor(t, 10*time.Second, func() bool {
		resp, err := f.Client.Get(f.URL(traceURL(old)))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNotFound
	}, "the two-hour-old trace to expire under 1h retention")
	var got apiTrace
	getJSON(t, f, traceURL(fresh), http.StatusOK, &got)
	require.Len(t, got.Spans, 1)
	// The counter is added once the whole retention pass has committed, which can be just
	// after the trace is already gone from queries.
	apptest.WaitFor(t, 5*time.Second, func() bool {
		return metricValue(t, f, `faultline_spanstore_retention_deleted_traces_total{reason="age"}`) >= 1
	}, "the retention counter to count the expired trace")
}

// Known traffic sent with the OpenTelemetry SDK gives exactly its edges, request and error
// counts in /api/v1/topology, the database that sends no spans included.
func TestTopologyCountsWhatWasSent(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-servicegraph.flush-interval=300ms", "-servicegraph.wait=1s")
	ctx := context.Background()
	web, _ := newProvider(t, f, "web", false)
	api, _ := newProvider(t, f, "api", false)
	const calls, failing, dbCalls, dbFailing = 120, 17, 40, 6
	begin := time.Now()
	for i := 0; i < calls; i++ {
		c, root := web.Tracer("e2e").Start(ctx, "GET /", trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer))
		cc, call := web.Tracer("e2e").Start(c, "GET /api", trace.WithSpanKind(trace.SpanKindClient))
		_, srv := api.Tracer("e2e").Start(cc, "handle", trace.WithSpanKind(trace.SpanKindServer))
		if i < failing {
			srv.SetStatus(otelcodes.Error, "boom")
			call.SetStatus(otelcodes.Error, "boom")
		}
		srv.End()
		call.End()
		root.End()
	}
	for i := 0; i < dbCalls; i++ {
		c, root := api.Tracer("e2e").Start(ctx, "job", trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer))
		_, q := api.Tracer("e2e").Start(c, "SELECT", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.name", "orders")))
		if i < dbFailing {
			q.SetStatus(otelcodes.Error, "deadlock")
		}
		q.End()
		root.End()
	}
	require.NoError(t, web.ForceFlush(ctx))
	require.NoError(t, api.ForceFlush(ctx))

	type edge struct {
		Caller, Callee   string
		Requests, Errors int64
	}
	var topo struct {
		Nodes []struct {
			Service string `json:"service"`
			Kind    string `json:"kind"`
		} `json:"nodes"`
		Edges []edge `json:"edges"`
	}
	path := fmt.Sprintf("/api/v1/topology?start=%d&end=%d", begin.Add(-time.Minute).Unix(), time.Now().Add(time.Minute).Unix())
	want := []edge{{"api", "orders", dbCalls, dbFailing}, {"web", "api", calls, failing}}
	apptest.WaitFor(t, 20*time.Second, func() bool {
		getJSON(t, f, path, http.StatusOK, &topo)
		var got []edge
		for _, e := range topo.Edges {
			got = append(got, edge{e.Caller, e.Callee, e.Requests, e.Errors})
		}
		sort.Slice(got, func(i, j int) bool { return got[i].Caller < got[j].Caller })
		return reflect.DeepEqual(want, got)
	}, fmt.Sprintf("edges %v", want))
	kinds := map[string]string{}
	for _, n := range topo.Nodes {
		kinds[n.Service] = n.Kind
	}
	require.Equal(t, map[string]string{"web": "service", "api": "service", "orders": "database"}, kinds)
}

// OTLP metrics land in the TSDB under Prometheus's names and answer PromQL; SIGHUP reloads the
// rule files, which the Prometheus rules API then shows.
func TestOTLPMetricsPromQLAndRuleReload(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	writeRule := func(name string) {
		require.NoError(t, os.WriteFile(rules, []byte("groups:\n  - name: g\n    rules:\n      - alert: "+name+"\n        expr: vector(0) > 1\n"), 0o600))
	}
	writeRule("FirstRule")
	// No local agent: its host metrics would add to the stored-points count checked below.
	f := apptest.StartFaultline(t, faultlineBin, filepath.Join(dir, "data"), "-rules.files="+rules, "-agent.enabled=false")

	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "billing")
	rm.Resource().Attributes().PutStr("host.name", "host-1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("queue.depth")
	m.SetUnit("{item}")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetDoubleValue(42)
	conn, err := grpc.NewClient(f.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = pmetricotlp.NewGRPCClient(conn).Export(context.Background(), pmetricotlp.NewExportRequestFromMetrics(md))
	require.NoError(t, err)

	var v struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	getJSON(t, f, "/prometheus/api/v1/query?query=queue_depth", http.StatusOK, &v)
	require.Equal(t, "success", v.Status)
	require.Len(t, v.Data.Result, 1)
	require.Equal(t, "42", v.Data.Result[0].Value[1])
	require.Equal(t, "billing", v.Data.Result[0].Metric["job"])
	require.Equal(t, "host-1", v.Data.Result[0].Metric["host_name"])
	require.Equal(t, 1.0, metricValue(t, f, "faultline_metric_points_stored_total"))

	ruleNames := func() []string {
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct{ Name string }
				}
			}
		}
		getJSON(t, f, "/prometheus/api/v1/rules", http.StatusOK, &r)
		var names []string
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				names = append(names, rule.Name)
			}
		}
		return names
	}
	require.Equal(t, []string{"FirstRule"}, ruleNames())
	writeRule("SecondRule")
	f.Signal(syscall.SIGHUP)
	apptest.WaitFor(t, 10*time.Second, func() bool { return reflect.DeepEqual([]string{"SecondRule"}, ruleNames()) }, "SIGHUP to load the new rule")
	require.NoError(t, os.WriteFile(rules, []byte("groups: [{name: g, rules: [{alert: Broken, expr: 'sum('}]}]\n"), 0o600))
	f.Signal(syscall.SIGHUP)
	apptest.WaitFor(t, 10*time.Second, func() bool { return strings.Contains(f.Logs(), "rule reload failed") }, "the bad file to be reported")
	require.Equal(t, []string{"SecondRule"}, ruleNames(), "a bad file keeps the previous rules")
}

// OTLP logs over HTTP/JSON and gRPC: stored and searchable; over the limits, refused with a
// reason, and the server keeps serving.
func TestOTLPLogsIngestAndLimits(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.enabled=false",
		"-otlp.max-log-records-per-request=3", "-otlp.max-log-body-bytes=16")
	body := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}}]},
	  "scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","severityText":"ERROR","body":{"stringValue":"invoice 7 failed: a body longer than sixteen bytes"},
	  "traceId":"0af7651916cd43dd8448eb211c80319c"}]}]}]}`
	resp, err := f.Client.Post("http://"+f.OTLPHTTP+"/v1/logs", "application/json",
		strings.NewReader(fmt.Sprintf(body, time.Now().UnixNano())))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var got struct {
		Logs []struct{ Service, Severity, Body, TraceID string } `json:"logs"`
	}
	getJSON(t, f, "/api/v1/logs?trace_id=0af7651916cd43dd8448eb211c80319c", http.StatusOK, &got)
	require.Len(t, got.Logs, 1)
	require.Equal(t, "billing", got.Logs[0].Service)
	require.Equal(t, "invoice 7 failed", got.Logs[0].Body, "cut to -otlp.max-log-body-bytes")
	require.Equal(t, 1.0, metricValue(t, f, `faultline_logs_truncated_total{what="body"}`))

	conn, err := grpc.NewClient(f.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ld := plog.NewLogs()
	recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 4 {
		recs.AppendEmpty().Body().SetStr("x")
	}
	_, err = plogotlp.NewGRPCClient(conn).Export(context.Background(), plogotlp.NewExportRequestFromLogs(ld))
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "max-log-records-per-request")
	require.Equal(t, 4.0, metricValue(t, f, `faultline_logs_refused_total{reason="too_many_records"}`))

	resp, err = f.Client.Post("http://"+f.OTLPHTTP+"/v1/logs", "application/json", strings.NewReader(`{"resourceLogs":[{`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "malformed JSON")
	require.NoError(t, f.WaitReady(time.Second))
}

// The web UI at "/" (the real build, or the placeholder when this tree has none), open
// without the token while the API needs it; unknown API paths stay JSON; the collector target
// serves no UI.
func TestWebUIServedAndAPIStaysJSON(t *testing.T) {
	const token = "ui-e2e-token"
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.enabled=false", "-http.auth-token="+token)
	get := func(p *apptest.Faultline, path, tok string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, p.URL(path), nil)
		require.NoError(t, err)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := p.Client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	wantStatus, wantText := http.StatusServiceUnavailable, "has not been built"
	if ui.Built() {
		wantStatus, wantText = http.StatusOK, `<div id="root">`
	}
	for _, path := range []string{"/", "/traces/4bf92f3577b34da6a3ce929d0e0e4736", "/hosts/web-1"} {
		resp, body := get(f, path, "")
		require.Equalf(t, wantStatus, resp.StatusCode, "GET %s without the token: %s", path, body)
		require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), path)
		require.Contains(t, body, wantText, path)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'", path)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
	}

	resp, body := get(f, "/api/v1/nope", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the API needs the token even where it has no endpoint: %s", body)
	resp, body = get(f, "/api/v1/nope", token)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, body)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	require.JSONEq(t, `{"error":"no such endpoint: /api/v1/nope"}`, body)
	resp, body = get(f, "/jaeger/api/nope", token)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, body)
	require.JSONEq(t, `{"error":"no such endpoint: /jaeger/api/nope"}`, body)
	resp, body = get(f, "/api/v1/services", token)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the real endpoints win over the catch-all: %s", body)
	for _, path := range []string{"/api/v1/services", "/metrics", "/debug/pprof/", "/jaeger/api/services", "/prometheus/api/v1/labels"} {
		resp, _ = get(f, path, "")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
	}
	f.Stop()

	col := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-target=collector", "-agent.enabled=false")
	for _, path := range []string{"/", "/traces/abc"} {
		resp, body = get(col, path, "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "the collector target serves no UI at %s", path)
		require.NotContains(t, body, wantText)
	}
}

// Spans whose resources name their host come back from /api/v1/hosts under that host, with
// their services; the in-process agent reports this machine as an agent host, with its CPU and
// memory use from the default recording rules.
func TestHostsFromSpansAndTheLocalAgent(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-servicegraph.flush-interval=300ms",
		"-agent.interval=1s", "-rules.evaluation-interval=1s")
	sendCheckoutTrace(t, f) // checkout on host-checkout, payment on host-payment
	self, err := os.Hostname()
	require.NoError(t, err)
	td := pdataSpans(2, 0) // raw-client, on this machine
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("host.name", self)
	conn, err := grpc.NewClient(f.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)

	type host struct {
		Host              string     `json:"host"`
		Services          []string   `json:"services"`
		Agent             bool       `json:"agent"`
		CPUUtilization    *float64   `json:"cpu_utilization"`
		MemoryUtilization *float64   `json:"memory_utilization"`
		LastSeen          *time.Time `json:"last_seen"`
	}
	var got struct {
		Hosts     []host `json:"hosts"`
		Truncated bool   `json:"truncated"`
	}
	byName := map[string]host{}
	apptest.WaitFor(t, 30*time.Second, func() bool {
		getJSON(t, f, "/api/v1/hosts", http.StatusOK, &got)
		clear(byName)
		for _, h := range got.Hosts {
			byName[h.Host] = h
		}
		me := byName[self]
		// CPU use needs two scrapes and a rule evaluation after them.
		return len(byName["host-checkout"].Services) > 0 && len(byName["host-payment"].Services) > 0 &&
			len(me.Services) > 0 && me.Agent && me.CPUUtilization != nil && me.MemoryUtilization != nil
	}, "the span hosts and this machine's agent host")

	require.False(t, got.Truncated)
	require.True(t, sort.SliceIsSorted(got.Hosts, func(i, j int) bool { return got.Hosts[i].Host < got.Hosts[j].Host }))
	require.Equal(t, host{Host: "host-checkout", Services: []string{"checkout"}}, byName["host-checkout"])
	require.Equal(t, host{Host: "host-payment", Services: []string{"payment"}}, byName["host-payment"])
	me := byName[self]
	require.Equal(t, []string{"raw-client"}, me.Services)
	require.InDelta(t, 0.5, *me.CPUUtilization, 0.5, "a share of the CPUs")
	require.InDelta(t, 0.5, *me.MemoryUtilization, 0.5, "a share of the memory")
	require.NotNil(t, me.LastSeen)
	require.WithinDuration(t, time.Now(), *me.LastSeen, time.Minute)
}
