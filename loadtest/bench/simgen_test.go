package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeFaultline is a Faultline whose /metrics answers received spans from a counter; it
// never exits.
func fakeFaultline(t *testing.T, received *atomic.Int64) *Faultline {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = fmt.Fprintf(w, "%s %d\n", MetricReceived, received.Load())
	}))
	t.Cleanup(srv.Close)
	return &Faultline{HTTPAddr: strings.TrimPrefix(srv.URL, "http://"), GRPCAddr: "127.0.0.1:4317", done: make(chan struct{}), client: srv.Client()}
}

func TestSendSim(t *testing.T) {
	var received atomic.Int64
	fl := fakeFaultline(t, &received)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var got SimRun
	cfg := Config{
		Generator: GeneratorSim, SimTopology: "shop", SimRate: 200, SimSeed: 3, Duration: 20 * time.Second,
		Sim: func(_ context.Context, run SimRun) (SimOutcome, error) {
			got = run
			received.Add(12_345)
			return SimOutcome{Requests: 4000, FailedEntries: 7, Services: []string{"web", "checkout"}}, nil
		},
	}
	res := &Result{}
	if err := sendSim(context.Background(), cfg, fl, Metrics{}, res, logger); err != nil {
		t.Fatal(err)
	}
	if got.Endpoint != "127.0.0.1:4317" || got.Topology != "shop" || got.Rate != 200 || got.Seed != 3 || got.Duration != 20*time.Second || got.Logger == nil {
		t.Errorf("simulator asked for %+v", got)
	}
	if res.SimRequests != 4000 || res.SimFailedEntries != 7 || res.SendTime <= 0 || res.SenderCPUSeconds < 0 {
		t.Errorf("result %+v", res)
	}
	warnings := strings.Join(res.Warnings, "\n")
	for _, want := range []string{"7 of 4,000 entry requests failed with no fault injected", `the queries search for service "frontend", which the shop topology does not have`} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings %q lack %q", warnings, want)
		}
	}

	// Nothing received: a failure of the run, not a measurement.
	cfg.Sim = func(context.Context, SimRun) (SimOutcome, error) { return SimOutcome{Requests: 10}, nil }
	if err := sendSim(context.Background(), cfg, fl, Metrics{MetricReceived: {{Name: MetricReceived, Value: float64(received.Load())}}}, &Result{}, logger); err == nil || !strings.Contains(err.Error(), "received no spans") {
		t.Errorf("sendSim with nothing received = %v", err)
	}
	// The simulator's own error ends the run.
	cfg.Sim = func(context.Context, SimRun) (SimOutcome, error) { return SimOutcome{}, errors.New("unknown topology") }
	if err := sendSim(context.Background(), cfg, fl, Metrics{}, &Result{}, logger); err == nil || !strings.Contains(err.Error(), "simulator: unknown topology") {
		t.Errorf("sendSim with a failing simulator = %v", err)
	}
	cfg.Sim = nil
	if err := sendSim(context.Background(), cfg, fl, Metrics{}, &Result{}, logger); err == nil {
		t.Error("sendSim without a simulator succeeded")
	}
}
