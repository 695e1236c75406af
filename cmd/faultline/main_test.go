package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/faultline/faultline/internal/apptest"
)

var faultlineBin string

func TestMain(m *testing.M) { os.Exit(apptest.RunWithBinary(m, "faultline", &faultlineBin)) }

// apiSpan is a span as GET /api/v1/traces/{id} returns it.
type apiSpan struct {
	SpanID        string         `json:"span_id"`
	ParentSpanID  string         `json:"parent_span_id"`
	Service       string         `json:"service"`
	Name          string         `json:"name"`
	Kind          string         `json:"kind"`
	StartUnixNano json.Number    `json:"start_unix_nano"`
	EndUnixNano   json.Number    `json:"end_unix_nano"`
	Status        apiStatus      `json:"status"`
	Attributes    map[string]any `json:"attributes"`
	Resource      map[string]any `json:"resource"`
	Events        []apiEvent     `json:"events"`
}

type apiStatus struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type apiEvent struct {
	Name         string         `json:"name"`
	TimeUnixNano json.Number    `json:"time_unix_nano"`
	Attributes   map[string]any `json:"attributes"`
}

type apiTrace struct {
	TraceID string    `json:"trace_id"`
	Spans   []apiSpan `json:"spans"`
}

func getJSON(t *testing.T, f *apptest.Faultline, path string, want int, out any) {
	t.Helper()
	resp, err := f.Client.Get(f.URL(path))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equalf(t, want, resp.StatusCode, "GET %s: %s", path, body)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		require.NoErrorf(t, dec.Decode(out), "GET %s: %s", path, body)
	}
}

// newProvider returns a tracer provider for service that exports to f over OTLP/gRPC (or
// HTTP) and also records every span in memory, so tests compare what came back with what
// the SDK sent.
func newProvider(t *testing.T, f *apptest.Faultline, service string, useHTTP bool, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	if useHTTP {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(f.OTLPHTTP), otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	} else {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(f.GRPCAddr), otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
	}
	require.NoError(t, err)
	mem := tracetest.NewInMemoryExporter()
	res := resource.NewSchemaless(attribute.String("service.name", service), attribute.String("host.name", "host-"+service), attribute.String("deployment.environment", "e2e"))
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp),
		sdktrace.WithSyncer(mem),
	}, opts...)...)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, mem
}

// sendCheckoutTrace emits a trace across two services, one exported over gRPC and one over
// HTTP, with every kind of span data, and returns its trace ID and the spans as sent.
func sendCheckoutTrace(t *testing.T, f *apptest.Faultline) (trace.TraceID, tracetest.SpanStubs) {
	t.Helper()
	ctx := context.Background()
	checkout, checkoutMem := newProvider(t, f, "checkout", false)
	payment, paymentMem := newProvider(t, f, "payment", true)

	tr := checkout.Tracer("e2e/checkout")
	rootCtx, root := tr.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", "POST"),
			attribute.Int("http.response.status_code", 500),
			attribute.Bool("retry", true),
			attribute.Float64("cart.value", 42.5),
			attribute.StringSlice("cart.items", []string{"sku-1", "sku-2"}),
			attribute.String("xss", `<img src=x onerror=alert(1)>`),
		))
	callCtx, call := tr.Start(rootCtx, "charge card", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("peer.service", "payment")))

	_, srv := payment.Tracer("e2e/payment").Start(callCtx, "Charge", trace.WithSpanKind(trace.SpanKindServer))
	srv.AddEvent("exception", trace.WithAttributes(
		attribute.String("exception.type", "CardDeclined"),
		attribute.String("exception.message", "card declined"),
		attribute.Int64("attempt", 2)))
	srv.SetStatus(codes.Error, "card declined")
	srv.End()

	call.SetStatus(codes.Error, "payment failed")
	call.End()
	root.SetStatus(codes.Error, "checkout failed")
	root.End()

	require.NoError(t, payment.ForceFlush(ctx), "export over OTLP/HTTP")
	require.NoError(t, checkout.ForceFlush(ctx), "export over OTLP/gRPC")
	sent := append(checkoutMem.GetSpans(), paymentMem.GetSpans()...)
	require.Len(t, sent, 3)
	return root.SpanContext().TraceID(), sent
}

// requireTraceIntact reads the trace back and compares every span with what the SDK sent.
func requireTraceIntact(t *testing.T, f *apptest.Faultline, id trace.TraceID, sent tracetest.SpanStubs) {
	t.Helper()
	var got apiTrace
	getJSON(t, f, "/api/v1/traces/"+id.String(), http.StatusOK, &got)
	require.Equal(t, id.String(), got.TraceID)
	require.Len(t, got.Spans, len(sent))
	byID := map[string]apiSpan{}
	for _, s := range got.Spans {
		byID[s.SpanID] = s
	}
	for _, want := range sent {
		g, ok := byID[want.SpanContext.SpanID().String()]
		require.Truef(t, ok, "span %s (%s) missing", want.Name, want.SpanContext.SpanID())
		svc, _ := want.Resource.Set().Value("service.name")
		require.Equal(t, svc.AsString(), g.Service)
		require.Equal(t, want.Name, g.Name)
		require.Equal(t, strings.ToLower(strings.TrimPrefix(want.SpanKind.String(), "SpanKind")), g.Kind)
		if want.Parent.IsValid() {
			require.Equal(t, want.Parent.SpanID().String(), g.ParentSpanID, want.Name)
		} else {
			require.Empty(t, g.ParentSpanID, want.Name)
		}
		require.Equal(t, strconv.FormatInt(want.StartTime.UnixNano(), 10), g.StartUnixNano.String(), want.Name)
		require.Equal(t, strconv.FormatInt(want.EndTime.UnixNano(), 10), g.EndUnixNano.String(), want.Name)
		require.Equal(t, "error", g.Status.Code, want.Name)
		require.Equal(t, want.Status.Description, g.Status.Message, want.Name)
		requireAttrs(t, want.Attributes, g.Attributes)
		require.Equal(t, "host-"+svc.AsString(), g.Resource["host.name"])
		require.Len(t, g.Events, len(want.Events), want.Name)
		for i, ev := range want.Events {
			require.Equal(t, ev.Name, g.Events[i].Name)
			require.Equal(t, strconv.FormatInt(ev.Time.UnixNano(), 10), g.Events[i].TimeUnixNano.String())
			requireAttrs(t, ev.Attributes, g.Events[i].Attributes)
		}
	}
}

func requireAttrs(t *testing.T, want []attribute.KeyValue, got map[string]any) {
	t.Helper()
	require.Len(t, got, len(want))
	for _, kv := range want {
		v, ok := got[string(kv.Key)]
		require.Truef(t, ok, "attribute %s missing", kv.Key)
		switch kv.Value.Type() {
		case attribute.STRING:
			require.Equal(t, kv.Value.AsString(), v, kv.Key)
		case attribute.INT64:
			require.Equal(t, json.Number(strconv.FormatInt(kv.Value.AsInt64(), 10)), v, kv.Key)
		case attribute.FLOAT64:
			f, err := v.(json.Number).Float64()
			require.NoError(t, err)
			require.InDelta(t, kv.Value.AsFloat64(), f, 1e-9, kv.Key)
		case attribute.BOOL:
			require.Equal(t, kv.Value.AsBool(), v, kv.Key)
		case attribute.STRINGSLICE:
			var got []string
			for _, e := range v.([]any) {
				got = append(got, e.(string))
			}
			require.Equal(t, kv.Value.AsStringSlice(), got, kv.Key)
		default:
			t.Fatalf("attribute type %s not covered by the test", kv.Value.Type())
		}
	}
}
