package export

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/faultline/faultline/agent/buffer"
)

// call is one export the test collector received.
type call struct {
	kind  string
	names []string // log bodies or metric names, in order
	auth  string
	at    time.Time
}

// answerFunc scripts the test collector's answer to its n-th call (from 0). Refusing on
// purpose is the only way to produce the collector's error codes (Unavailable with RetryInfo,
// ResourceExhausted, InvalidArgument, ...) here.
type answerFunc func(ctx context.Context, n int, c call) (rejected int64, err error)

// testCollector is a real OTLP/gRPC server on a 127.0.0.1 port.
type testCollector struct {
	addr      string
	srv       *grpc.Server
	answer    answerFunc
	delivered chan call // calls answered OK

	mu       sync.Mutex
	calls    []call
	payloads []*stats.InPayload
}

type logsService struct {
	plogotlp.UnimplementedGRPCServer
	c *testCollector
}

type metricsService struct {
	pmetricotlp.UnimplementedGRPCServer
	c *testCollector
}

func startCollector(t *testing.T, addr string, answer answerFunc, opts ...grpc.ServerOption) *testCollector {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	c := &testCollector{addr: lis.Addr().String(), answer: answer, delivered: make(chan call, 1000)}
	c.srv = grpc.NewServer(append(opts, grpc.StatsHandler(c))...)
	plogotlp.RegisterGRPCServer(c.srv, &logsService{c: c})
	pmetricotlp.RegisterGRPCServer(c.srv, &metricsService{c: c})
	go func() { _ = c.srv.Serve(lis) }()
	t.Cleanup(c.srv.Stop)
	return c
}

func (c *testCollector) record(ctx context.Context, cl call) (int64, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if a := md.Get("authorization"); len(a) > 0 {
		cl.auth = a[0]
	}
	cl.at = time.Now()
	c.mu.Lock()
	n := len(c.calls)
	c.calls = append(c.calls, cl)
	c.mu.Unlock()
	var rejected int64
	var err error
	if c.answer != nil {
		rejected, err = c.answer(ctx, n, cl)
	}
	if err == nil {
		c.delivered <- cl
	}
	return rejected, err
}

func (c *testCollector) allCalls() []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]call(nil), c.calls...)
}

func (s *logsService) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	cl := call{kind: "logs"}
	rls := req.Logs().ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				cl.names = append(cl.names, lrs.At(k).Body().Str())
			}
		}
	}
	rejected, err := s.c.record(ctx, cl)
	resp := plogotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(rejected)
		resp.PartialSuccess().SetErrorMessage("records too old")
	}
	return resp, err
}

func (s *metricsService) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	cl := call{kind: "metrics"}
	rms := req.Metrics().ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				cl.names = append(cl.names, ms.At(k).Name())
			}
		}
	}
	rejected, err := s.c.record(ctx, cl)
	resp := pmetricotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(rejected)
	}
	return resp, err
}

// The stats.Handler methods record the size of what arrived, compressed and not.
func (c *testCollector) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}

func (c *testCollector) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (c *testCollector) HandleConn(context.Context, stats.ConnStats) {}

func (c *testCollector) HandleRPC(_ context.Context, s stats.RPCStats) {
	if p, ok := s.(*stats.InPayload); ok {
		c.mu.Lock()
		c.payloads = append(c.payloads, p)
		c.mu.Unlock()
	}
}

// waitDelivered returns the next n calls the collector accepted.
func (c *testCollector) waitDelivered(t *testing.T, n int) []call {
	t.Helper()
	var got []call
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case cl := <-c.delivered:
			got = append(got, cl)
		case <-timeout:
			t.Fatalf("collector accepted %d of %d exports in time", len(got), n)
		}
	}
	return got
}

func refuse(code codes.Code, retryAfter time.Duration) error {
	st := status.New(code, "refused on purpose by the test collector")
	if retryAfter > 0 {
		var err error
		st, err = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
		if err != nil {
			panic(err)
		}
	}
	return st.Err()
}

func logsPayload(t testing.TB, names ...string) []byte {
	t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, n := range names {
		lrs.AppendEmpty().Body().SetStr(n)
	}
	b, err := EncodeLogs(ld)
	require.NoError(t, err)
	return b
}

func metricsPayload(t testing.TB, names ...string) []byte {
	t.Helper()
	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	for _, n := range names {
		m := ms.AppendEmpty()
		m.SetName(n)
		m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
	}
	b, err := EncodeMetrics(md)
	require.NoError(t, err)
	return b
}

// logBuf collects a logger's output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testConfig(endpoint string) Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("test", flag.PanicOnError))
	c.Endpoint = endpoint
	c.InitialBackoff = 10 * time.Millisecond
	c.MaxBackoff = 100 * time.Millisecond
	c.Timeout = 5 * time.Second
	return c
}

type harness struct {
	buf    *buffer.Buffer
	sender *Sender
	logs   *logBuf
	cancel context.CancelFunc
	done   chan error
}

// newHarness opens a buffer and a sender; start runs the sender.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{logs: &logBuf{}}
	logger := slog.New(slog.NewTextHandler(h.logs, nil))
	var bcfg buffer.Config
	bcfg.RegisterFlags(flag.NewFlagSet("buffer", flag.PanicOnError))
	var err error
	h.buf, err = buffer.Open(bcfg, t.TempDir(), logger, nil)
	require.NoError(t, err)
	h.sender, err = New(cfg, h.buf, logger, prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() {
		if h.cancel != nil {
			require.NoError(t, h.stop())
		}
		require.NoError(t, h.buf.Close())
	})
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.sender.Run(ctx) }()
}

// stop cancels Run and returns its error.
func (h *harness) stop() error {
	if h.cancel == nil {
		return errors.New("not started")
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("Run did not return after cancellation")
	}
}

func (h *harness) append(t *testing.T, kind buffer.Kind, payload []byte) {
	t.Helper()
	_, err := h.buf.Append(kind, payload)
	require.NoError(t, err)
}

// appendNamed appends entries named prefix0..prefixN-1, logs and metrics alternating.
func (h *harness) appendNamed(t *testing.T, prefix string, from, to int) []string {
	t.Helper()
	var names []string
	for i := from; i < to; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		if i%2 == 0 {
			h.append(t, buffer.KindLogs, logsPayload(t, name))
		} else {
			h.append(t, buffer.KindMetrics, metricsPayload(t, name))
		}
		names = append(names, name)
	}
	return names
}

func (h *harness) waitEmpty(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return h.buf.Len() == 0 }, 10*time.Second, 5*time.Millisecond)
}

func namesOf(calls []call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.names...)
	}
	return out
}
