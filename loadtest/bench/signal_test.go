package bench

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestSignalFor(t *testing.T) {
	for _, tc := range []struct {
		signal, items, received, stored, disk string
	}{
		{"", "spans", MetricReceived, MetricStored, MetricDiskBytes},
		{SignalTraces, "spans", MetricReceived, MetricStored, MetricDiskBytes},
		{SignalLogs, "log records", "faultline_logs_received_total", "faultline_logs_stored_total", ""},
		{SignalMetrics, "metric points", "faultline_metric_points_received_total", "faultline_metric_points_stored_total", ""},
	} {
		info, ok := SignalFor(tc.signal)
		if !ok || info.Items != tc.items || info.Received != tc.received || info.Stored != tc.stored || info.Disk != tc.disk {
			t.Errorf("SignalFor(%q) = %+v, %v", tc.signal, info, ok)
		}
	}
	if _, ok := SignalFor("profiles"); ok {
		t.Error("SignalFor(profiles) accepted")
	}
}

// The line telemetrygen v0.161.0 logs when faultline (which has no logs service) refuses
// its export, as captured from a real run.
const tgFatalLine = `2026-11-22T04:37:00.695Z	FATAL	logs/worker.go:143	failed to export batched logs	{"worker": 0, "error": "rpc error: code = Unimplemented desc = unknown service opentelemetry.proto.collector.logs.v1.LogsService"}`

func TestExportFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "telemetrygen-1.log")
	log := "2026-11-22T04:37:00.690Z\tINFO\tchannelz/trace.go:200\t[core] Channel Connectivity change to READY\n" +
		tgFatalLine + "\n" +
		"github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen/pkg/logs.(*worker).flushBuffer\n" +
		strings.Replace(tgFatalLine, "FATAL", "ERROR", 1) + "\n"
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	first, n := ExportFailure(path)
	if want := "rpc error: code = Unimplemented desc = unknown service opentelemetry.proto.collector.logs.v1.LogsService"; first != want || n != 2 {
		t.Errorf("ExportFailure = %q, %d; want %q, 2", first, n, want)
	}
	if first, n := ExportFailure(filepath.Join(t.TempDir(), "missing.log")); first != "" || n != 0 {
		t.Errorf("ExportFailure(missing) = %q, %d", first, n)
	}
	if got := exportErrorText("  export failed: timeout  "); got != "export failed: timeout" {
		t.Errorf("exportErrorText without an rpc error = %q", got)
	}
}

func TestUnsupportedReason(t *testing.T) {
	logs, _ := SignalFor(SignalLogs)
	unimpl := status.Error(codes.Unimplemented, "unknown service opentelemetry.proto.collector.logs.v1.LogsService")
	tgErr := "rpc error: code = Unimplemented desc = unknown service opentelemetry.proto.collector.logs.v1.LogsService"

	got := UnsupportedReason(logs, false, unimpl, tgErr, 1)
	for _, want := range []string{
		"faultline exports no faultline_logs_received_total",
		"its OTLP/gRPC receiver answered a one-log record export with Unimplemented (unknown service opentelemetry.proto.collector.logs.v1.LogsService)",
		"telemetrygen logged 1 failed export(s), the first: " + tgErr,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("reason %q lacks %q", got, want)
		}
	}
	// The counters exist and nothing was refused as a whole: not a "not supported" finding.
	if got := UnsupportedReason(logs, true, nil, "", 0); got != "" {
		t.Errorf("supported signal got reason %q", got)
	}
	// A transient failure while the counters exist is not missing support either.
	if got := UnsupportedReason(logs, true, status.Error(codes.Unavailable, "x"), "rpc error: code = Unavailable desc = x", 3); got != "" {
		t.Errorf("transient failure got reason %q", got)
	}
	// Counters absent is enough on its own.
	if got := UnsupportedReason(logs, false, nil, "", 0); got != "faultline exports no faultline_logs_received_total" {
		t.Errorf("absent counter: reason %q", got)
	}
	// The counters exist but the receiver is missing (a half-done milestone): still reported.
	if got := UnsupportedReason(logs, true, unimpl, "", 0); !strings.Contains(got, "Unimplemented") {
		t.Errorf("Unimplemented probe: reason %q", got)
	}
}

type fakeLogs struct {
	plogotlp.UnimplementedGRPCServer
	n atomic.Int64
}

func (f *fakeLogs) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	f.n.Add(int64(req.Logs().LogRecordCount()))
	return plogotlp.NewExportResponse(), nil
}

type fakeMetrics struct {
	pmetricotlp.UnimplementedGRPCServer
	n atomic.Int64
}

func (f *fakeMetrics) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	f.n.Add(int64(req.Metrics().DataPointCount()))
	return pmetricotlp.NewExportResponse(), nil
}

func TestProbeSignal(t *testing.T) {
	ctx := context.Background()
	// Like faultline today: only the trace service is registered.
	tracesOnly := startFakeReceiver(t, &fakeReceiver{})
	for _, signal := range []string{SignalLogs, SignalMetrics} {
		err := ProbeSignal(ctx, tracesOnly, signal)
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("probe %s against a traces-only receiver = %v, want Unimplemented", signal, err)
		}
	}
	if err := ProbeSignal(ctx, tracesOnly, SignalTraces); err != nil {
		t.Errorf("probe traces = %v, want nil (no probe for traces)", err)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	logs, metrics := &fakeLogs{}, &fakeMetrics{}
	plogotlp.RegisterGRPCServer(srv, logs)
	pmetricotlp.RegisterGRPCServer(srv, metrics)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	for _, signal := range []string{SignalLogs, SignalMetrics} {
		if err := ProbeSignal(ctx, lis.Addr().String(), signal); err != nil {
			t.Errorf("probe %s against a receiver that has it = %v", signal, err)
		}
	}
	if logs.n.Load() != 1 || metrics.n.Load() != 1 {
		t.Errorf("probe sent %d log records and %d metric points, want 1 each", logs.n.Load(), metrics.n.Load())
	}
	if err := ProbeSignal(ctx, "127.0.0.1:1", SignalLogs); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("probe of a closed port = %v, want a connection error", err)
	}
}
