package rca

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/faultline/faultline/loadtest/sim"
)

// RunsAlone says whether sc must have the machine to itself: a cpu fault burns CPU for the
// whole machine, which would slow every other scenario's services and Faultline, and distort
// their answers.
func RunsAlone(sc sim.Scenario) bool { return sc.Fault.Kind == sim.FaultCPU }

// Scheduler runs a suite on several workers at once, each a Runner with a Faultline of its
// own. The workers take the scenarios in suite order, each as soon as it is idle; a scenario
// that RunsAlone waits until every worker is idle, runs on its own, and only then are more
// handed out.
type Scheduler struct {
	Workers []*Runner
	// Logger gets a line when a scenario waits to run alone; nil discards.
	Logger *slog.Logger
}

// Run runs every scenario and returns the results in suite order, whatever order they
// finished in. It stops early only when ctx ends, returning the results of the scenarios
// that finished before (still in suite order) and ctx's error.
func (s *Scheduler) Run(ctx context.Context, scenarios []sim.Scenario) ([]Result, error) {
	if len(s.Workers) == 0 {
		return nil, errors.New("no workers")
	}
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	idle := make(chan int, len(s.Workers)) // the idle workers' indexes
	for w := range s.Workers {
		idle <- w
	}
	acquire := func() (int, bool) {
		select {
		case w := <-idle:
			return w, true
		case <-ctx.Done():
			return 0, false
		}
	}
	results := make([]Result, len(scenarios))
	finished := make([]bool, len(scenarios))
	run := func(w, i int) {
		res := s.Workers[w].RunOne(ctx, scenarios[i])
		if ctx.Err() == nil { // else the run was cut short: not a result
			results[i], finished[i] = res, true
		}
	}
	var wg sync.WaitGroup
dispatch:
	for i, sc := range scenarios {
		if ctx.Err() != nil {
			break
		}
		if !RunsAlone(sc) {
			w, ok := acquire()
			if !ok {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(w, i)
				idle <- w
			}()
			continue
		}
		// Hold every worker: the ones busy now hand themselves back as they finish.
		if len(idle) < len(s.Workers) {
			logger.Info("waiting for every worker to be idle: this scenario runs alone", "scenario", sc.Name, "kind", sc.Fault.Kind)
		}
		held := make([]int, 0, len(s.Workers))
		for len(held) < len(s.Workers) {
			w, ok := acquire()
			if !ok {
				break dispatch
			}
			held = append(held, w)
		}
		run(held[0], i)
		for _, w := range held {
			idle <- w
		}
	}
	wg.Wait()

	out := make([]Result, 0, len(scenarios))
	for i := range results {
		if finished[i] {
			out = append(out, results[i])
		}
	}
	if len(out) < len(scenarios) {
		return out, ctx.Err()
	}
	return out, nil
}
