package main

import (
	"context"

	"github.com/faultline/faultline/loadtest/bench"
	"github.com/faultline/faultline/loadtest/sim"
)

func init() { simRunner = runSim }

// runSim runs the simulator with no fault against run.Endpoint for run.Duration.
func runSim(ctx context.Context, run bench.SimRun) (bench.SimOutcome, error) {
	gt, err := sim.Run(ctx, sim.Options{Endpoint: run.Endpoint, Logger: run.Logger}, sim.Scenario{
		Name:     "ingestbench",
		Topology: run.Topology,
		Fault:    sim.Fault{Kind: sim.FaultNone},
		Seed:     run.Seed,
		Rate:     run.Rate,
		Duration: run.Duration,
	})
	out := bench.SimOutcome{Requests: gt.Requests, FailedEntries: gt.FailedEntries}
	for _, n := range gt.Topology.Nodes {
		if n.Kind == "service" {
			out.Services = append(out.Services, n.Name)
		}
	}
	return out, err
}
