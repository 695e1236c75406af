package rca

import (
	"context"
	"log/slog"

	"github.com/faultline/faultline/loadtest/sim"
)

// validateScenario is the harness's own checks (checkScenario: what it needs to query and
// score a scenario), then the simulator's (topology, target, fault kind on that target).
func validateScenario(sc sim.Scenario) error {
	if err := checkScenario(sc); err != nil {
		return err
	}
	return sim.Validate(sc)
}

// newSimulator returns the RunScenario that drives the real simulator, sending OTLP to
// endpoint with headers (and logs too when logs is set), its timeline multiplied by
// timeScale (sim.Options.TimeScale; tests only).
func newSimulator(endpoint string, headers map[string]string, logs bool, timeScale float64, logger *slog.Logger) RunFunc {
	return func(ctx context.Context, sc sim.Scenario) (sim.GroundTruth, error) {
		opts := sim.Options{Endpoint: endpoint, Headers: headers, Logs: logs, Logger: logger, TimeScale: timeScale}
		return sim.Run(ctx, opts, sc)
	}
}
