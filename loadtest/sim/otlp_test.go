package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// fakeCollector is an OTLP/gRPC receiver on 127.0.0.1 that counts what it gets.
type fakeCollector struct {
	coltrace.UnimplementedTraceServiceServer
	collogs.UnimplementedLogsServiceServer
	mu       sync.Mutex
	services map[string]int
	logs     int
	auth     map[string]bool
}

func (f *fakeCollector) note(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		f.auth[v] = true
	}
}

func (f *fakeCollector) Export(ctx context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note(ctx)
	for _, rs := range req.GetResourceSpans() {
		name := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				name = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			f.services[name] += len(ss.GetSpans())
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

type fakeLogs struct{ *fakeCollector }

func (f fakeLogs) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note(ctx)
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			f.logs += len(sl.GetLogRecords())
		}
	}
	return &collogs.ExportLogsServiceResponse{}, nil
}

// TestMainOverOTLP runs "faultline-loadtest sim" against an OTLP receiver on 127.0.0.1.
func TestMainOverOTLP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	col := &fakeCollector{services: map[string]int{}, auth: map[string]bool{}}
	srv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(srv, col)
	collogs.RegisterLogsServiceServer(srv, fakeLogs{col})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Main(ctx, []string{
		"-otlp.endpoint=" + ln.Addr().String(), "-otlp.header=authorization=Bearer s3cret",
		"-topology=chain5", "-fault=error", "-target=ledger", "-fault.start=200ms", "-fault.duration=300ms",
		"-duration=800ms", "-rate=20", "-seed=5", "-logs", "-quiet",
	}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var gt GroundTruth
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &gt))
	assert.Equal(t, "ledger", gt.FaultyService)
	assert.Equal(t, "chain5", gt.Topology.Name)
	assert.Equal(t, FaultError, gt.Fault.Kind)
	assert.False(t, gt.FaultStart.IsZero())
	assert.Positive(t, gt.Requests)

	col.mu.Lock()
	defer col.mu.Unlock()
	for _, s := range []string{"frontend", "orders", "inventory", "pricing", "ledger"} {
		assert.Positive(t, col.services[s], "spans of %s", s)
	}
	assert.Positive(t, col.logs)
	assert.Equal(t, map[string]bool{"Bearer s3cret": true}, col.auth)
}
