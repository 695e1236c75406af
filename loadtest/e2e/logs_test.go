package e2e

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/apptest"
	"github.com/faultline/faultline/loadtest/sim"
)

// The simulator's services log through the OpenTelemetry Go SDK (OTLP/gRPC); a failing
// trace's logs are one query away from the trace, and a service's error logs are searchable.
func TestTraceLogsOneQueryAway(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-agent.enabled=false")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gt, err := sim.Run(ctx, sim.Options{Endpoint: f.GRPCAddr, Logs: true}, sim.Scenario{
		Name: "chain-logs", Topology: "chain5", Seed: 3, Rate: 20, Duration: 8 * time.Second,
		Fault: sim.Fault{Kind: sim.FaultError, Target: "pricing", Start: 2 * time.Second, Duration: 4 * time.Second, Share: 0.5},
	})
	require.NoError(t, err)
	window := fmt.Sprintf("start=%d&end=%d", gt.RunStart.Add(-time.Minute).Unix(), gt.RunEnd.Add(time.Minute).Unix())

	var logs struct {
		Logs []struct {
			Service  string `json:"service"`
			Severity string `json:"severity"`
			Body     string `json:"body"`
			TraceID  string `json:"trace_id"`
		} `json:"logs"`
	}
	apptest.WaitFor(t, 20*time.Second, func() bool {
		getJSON(t, f, "/api/v1/logs?"+window+"&service=pricing&severity=error&limit=5", &logs)
		return len(logs.Logs) > 0
	}, "pricing's error logs")
	traceID := logs.Logs[0].TraceID
	require.Len(t, traceID, 32, "the SDK log record carries its span's trace ID")

	var trace struct {
		Spans []struct {
			Service string `json:"service"`
		} `json:"spans"`
	}
	getJSON(t, f, "/api/v1/traces/"+traceID, &trace)
	require.NotEmpty(t, trace.Spans, "the log's trace is stored")

	getJSON(t, f, "/api/v1/logs?"+window+"&trace_id="+url.QueryEscape(traceID), &logs)
	require.NotEmpty(t, logs.Logs)
	services := map[string]bool{}
	for _, l := range logs.Logs {
		require.Equal(t, traceID, l.TraceID)
		services[l.Service] = true
	}
	require.True(t, services["pricing"], "the failing service's log is among the trace's logs: %v", services)
}
