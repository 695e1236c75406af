package rca

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/faultline/faultline/loadtest/sim"
)

// RunsAlone says whether sc must have the machine to itself: a cpu fault burns CPU for the
// whole machine, which would slow every other scenario's services and Faultline, and distort
// their answers.
func RunsAlone(sc sim.Scenario) bool { return sc.Fault.Kind == sim.FaultCPU }

// Scheduler runs a suite on several workers at once, each a Runner with a Faultline of its
// own. Each topology keeps to its own workers (topologies are dealt to workers in order of
// first appearance; with more workers than topologies, a topology's scenarios are dealt
// round-robin among its workers), so that every Faultline watches one application, as a
// real deployment does: handing a Faultline another application whose services share names
// (every topology has a frontend) would look to it like those services changed. Each worker
// runs its scenarios in suite order, except that scenarios that RunsAlone come after all the
// others, one at a time.
type Scheduler struct {
	Workers []*Runner
	// Logger gets a line when a scenario waits to run alone; nil discards.
	Logger *slog.Logger
}

// Assign deals the scenarios to n workers: the indexes of each worker's scenarios, in suite
// order.
func Assign(scenarios []sim.Scenario, n int) [][]int {
	var topologies []string
	for _, sc := range scenarios {
		if !slices.Contains(topologies, sc.Topology) {
			topologies = append(topologies, sc.Topology)
		}
	}
	// The workers of each topology.
	owners := make(map[string][]int, len(topologies))
	for w := range max(n, len(topologies)) {
		t := topologies[w%len(topologies)]
		owners[t] = append(owners[t], w%n)
	}
	dealt := map[string]int{}
	queues := make([][]int, n)
	for i, sc := range scenarios {
		ws := owners[sc.Topology]
		w := ws[dealt[sc.Topology]%len(ws)]
		dealt[sc.Topology]++
		queues[w] = append(queues[w], i)
	}
	return queues
}

// Run runs every scenario and returns the results in suite order, whatever order they
// finished in. It stops early only when ctx ends, returning the results of the scenarios
// that finished before (still in suite order) and ctx's error.
func (s *Scheduler) Run(ctx context.Context, scenarios []sim.Scenario) ([]Result, error) {
	if len(s.Workers) == 0 {
		return nil, errors.New("no workers")
	}
	if len(scenarios) == 0 {
		return nil, nil
	}
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	results := make([]Result, len(scenarios))
	finished := make([]bool, len(scenarios))
	// done[i] is closed when scenario i is over. Scenarios that run alone go last, one at a
	// time: each starts once every other scenario and every earlier lone one is over.
	done := make([]chan struct{}, len(scenarios))
	for i := range done {
		done[i] = make(chan struct{})
	}
	waitOver := func(i int) bool {
		if !RunsAlone(scenarios[i]) {
			return true
		}
		for k := range scenarios {
			if k == i || RunsAlone(scenarios[k]) && k > i {
				continue
			}
			select {
			case <-done[k]:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	var wg sync.WaitGroup
	for w, queue := range Assign(scenarios, len(s.Workers)) {
		slices.SortStableFunc(queue, func(x, y int) int { // lone scenarios last
			return cmp.Compare(b2i(RunsAlone(scenarios[x])), b2i(RunsAlone(scenarios[y])))
		})
		wg.Go(func() {
			defer func() { // scenarios never run are over too
				for _, i := range queue {
					select {
					case <-done[i]:
					default:
						close(done[i])
					}
				}
			}()
			for _, i := range queue {
				if ctx.Err() != nil {
					return
				}
				sc := scenarios[i]
				if RunsAlone(sc) {
					logger.Info("waiting for every earlier scenario to end: this one runs alone", "scenario", sc.Name, "kind", sc.Fault.Kind)
				}
				if !waitOver(i) {
					return
				}
				res := s.Workers[w].RunOne(ctx, sc)
				if ctx.Err() == nil { // else the run was cut short: not a result
					results[i], finished[i] = res, true
				}
				close(done[i])
			}
		})
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
