package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// GeneratorSim drives faultline with the microservice simulator (loadtest/sim): real
// HTTP/gRPC services on 127.0.0.1 instrumented with the OpenTelemetry Go SDK, run in this
// process with no fault injected.
const GeneratorSim = "sim"

// SimRun is one simulator run as the harness asks for it.
type SimRun struct {
	Endpoint string // faultline's OTLP/gRPC host:port
	Topology string
	Rate     float64 // entry requests per second
	Seed     int64
	Duration time.Duration
	Logger   *slog.Logger
}

// SimOutcome is what the simulator reports back.
type SimOutcome struct {
	Requests      int64    // entry requests sent
	FailedEntries int64    // of which failed
	Services      []string // the topology's services (nodes of kind service), if known
}

// SimRunner runs the simulator. The command wires in loadtest/sim (see
// loadtest/cmd/ingestbench); this package does not import it, so its tests and the other
// generators do not depend on the simulator.
type SimRunner func(ctx context.Context, run SimRun) (SimOutcome, error)

// sendSim runs the simulator once for cfg.Duration.
func sendSim(ctx context.Context, cfg Config, fl *Faultline, m0 Metrics, res *Result, logger *slog.Logger) error {
	if cfg.Sim == nil {
		return errors.New("-generator=sim: this build has no simulator wired in (run loadtest/cmd/ingestbench)")
	}
	run := SimRun{Endpoint: fl.GRPCAddr, Topology: cfg.SimTopology, Rate: cfg.SimRate, Seed: cfg.SimSeed, Duration: cfg.Duration, Logger: logger}
	logger.Info("running simulator", "topology", run.Topology, "rate", run.Rate, "seed", run.Seed, "duration", run.Duration)
	cpu0, ok0 := processCPU()
	t0 := time.Now()
	out, err := cfg.Sim(ctx, run)
	res.SendTime = time.Since(t0)
	cpu1, ok1 := processCPU()
	if ok0 && ok1 {
		res.SenderCPUSeconds = (cpu1 - cpu0).Seconds()
	} else {
		res.Warnings = append(res.Warnings, "the simulator's CPU time cannot be read on this platform (shown as 0)")
	}
	res.SimRequests, res.SimFailedEntries = out.Requests, out.FailedEntries
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	if fl.Exited() {
		return errors.New("faultline exited during the run")
	}
	m, err := fl.Metrics(ctx)
	if err != nil {
		return err
	}
	if m.Value(MetricReceived)-m0.Value(MetricReceived) == 0 {
		return fmt.Errorf("the simulator ran for %s (%d entry requests) but faultline received no spans", res.SendTime.Round(time.Millisecond), out.Requests)
	}
	logger.Info("simulator done", "entry_requests", out.Requests, "failed", out.FailedEntries, "cpu_s", res.SenderCPUSeconds)
	if out.FailedEntries > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s of %s entry requests failed with no fault injected", Thousands(float64(out.FailedEntries)), Thousands(float64(out.Requests))))
	}
	if svc := cfg.QueryService(); len(out.Services) > 0 && !slices.Contains(out.Services, svc) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the queries search for service %q, which the %s topology does not have (it has %v); set -service", svc, cfg.SimTopology, out.Services))
	}
	return nil
}
