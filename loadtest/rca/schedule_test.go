package rca

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/sim"
)

// runLog records the fake simulator runs of every worker: which scenarios are running,
// the most at once, and every breach of a cpu scenario's exclusivity.
type runLog struct {
	mu        sync.Mutex
	active    map[string]string // scenario -> kind, while its RunFunc runs
	maxActive int
	started   map[string]chan struct{} // closed when the scenario starts
	ended     map[string]chan struct{} // closed when it ends
	worker    map[string]int           // scenario -> the worker that ran it
	breaches  []string
}

func newRunLog(scenarios []sim.Scenario) *runLog {
	l := &runLog{active: map[string]string{}, started: map[string]chan struct{}{}, ended: map[string]chan struct{}{}, worker: map[string]int{}}
	for _, sc := range scenarios {
		l.started[sc.Name], l.ended[sc.Name] = make(chan struct{}), make(chan struct{})
	}
	return l
}

func (l *runLog) start(w int, sc sim.Scenario) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, kind := range l.active {
		if kind == sim.FaultCPU || sc.Fault.Kind == sim.FaultCPU {
			l.breaches = append(l.breaches, fmt.Sprintf("%s (%s) started while %s (%s) ran", sc.Name, sc.Fault.Kind, name, kind))
		}
	}
	l.active[sc.Name] = sc.Fault.Kind
	l.maxActive = max(l.maxActive, len(l.active))
	l.worker[sc.Name] = w
	close(l.started[sc.Name])
}

func (l *runLog) end(sc sim.Scenario) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.active, sc.Name)
	close(l.ended[sc.Name])
}

// quietFaultline answers every RCA and incidents query with nothing wrong.
func quietFaultline(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/rca":
			_, _ = w.Write([]byte(`{"root_causes":[]}`))
		case "/api/v1/incidents":
			_, _ = w.Write([]byte(`{"incidents":[]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newTestScheduler has n workers, each with its own fake Faultline, whose fake simulator
// logs the run, waits as wait says for that scenario (nothing: a few milliseconds), and
// returns a ground truth.
func newTestScheduler(t *testing.T, n int, l *runLog, wait func(ctx context.Context, sc sim.Scenario) error) *Scheduler {
	t.Helper()
	s := &Scheduler{}
	for w := range n {
		run := func(ctx context.Context, sc sim.Scenario) (sim.GroundTruth, error) {
			l.start(w, sc)
			defer l.end(sc)
			gt := sim.GroundTruth{Scenario: sc.Name, RunStart: time.Now(), FaultyService: sc.Fault.Target}
			if err := wait(ctx, sc); err != nil {
				return gt, err
			}
			gt.RunEnd = time.Now()
			return gt, nil
		}
		s.Workers = append(s.Workers, &Runner{RunScenario: run, Faultline: testClient(t, quietFaultline(t).URL, ""), PollInterval: -1})
	}
	return s
}

func scenarios(kinds ...string) []sim.Scenario {
	out := make([]sim.Scenario, len(kinds))
	for i, k := range kinds {
		out[i] = sim.Scenario{Name: fmt.Sprintf("s%d-%s", i, k), Topology: "shop", Fault: sim.Fault{Kind: k}}
		if k != sim.FaultNone {
			out[i].Fault.Target = "cart"
		}
	}
	return out
}

func names(results []Result) []string {
	out := make([]string, len(results))
	for i, r := range results {
		out[i] = r.Scenario
	}
	return out
}

func TestSchedulerCPUAlone(t *testing.T) {
	short := func(ctx context.Context, _ sim.Scenario) error {
		select {
		case <-time.After(20 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tests := []struct {
		name    string
		workers int
		kinds   []string
	}{
		{"one worker", 1, []string{sim.FaultError, sim.FaultCPU, sim.FaultNone}},
		{"cpu in the middle", 2, []string{sim.FaultError, sim.FaultLatency, sim.FaultDown, sim.FaultCPU, sim.FaultNone, sim.FaultError, sim.FaultDrop}},
		{"cpu first, twice in a row and last", 3, []string{sim.FaultCPU, sim.FaultError, sim.FaultLatency, sim.FaultCPU, sim.FaultCPU, sim.FaultNone, sim.FaultDown, sim.FaultError, sim.FaultCPU}},
		{"no cpu", 3, []string{sim.FaultError, sim.FaultLatency, sim.FaultDown, sim.FaultNone, sim.FaultError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scs := scenarios(tt.kinds...)
			l := newRunLog(scs)
			results, err := newTestScheduler(t, tt.workers, l, short).Run(context.Background(), scs)
			require.NoError(t, err)
			want := make([]string, len(scs))
			for i, sc := range scs {
				want[i] = sc.Name
			}
			assert.Equal(t, want, names(results), "suite order")
			assert.Empty(t, l.breaches, "a cpu scenario runs alone")
			assert.LessOrEqual(t, l.maxActive, tt.workers)
			for _, r := range results {
				assert.Empty(t, r.Error)
				assert.True(t, r.IncidentsOK, r.Scenario)
			}
		})
	}
}

// The workers run side by side, the report keeps the suite's order whatever the finishing
// order, and a cpu scenario runs after all the others.
func TestSchedulerOrder(t *testing.T) {
	scs := scenarios(sim.FaultError, sim.FaultLatency, sim.FaultCPU, sim.FaultNone, sim.FaultDown)
	first, second, cpu, after1, after2 := scs[0].Name, scs[1].Name, scs[2].Name, scs[3].Name, scs[4].Name
	l := newRunLog(scs)
	waitFor := func(ctx context.Context, ch chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Second):
			return errors.New("timed out: the scheduler did not run them side by side")
		}
	}
	wait := func(ctx context.Context, sc sim.Scenario) error {
		switch sc.Name {
		case first: // finishes only after the second did: the two ran at once
			return waitFor(ctx, l.ended[second])
		case second:
			return waitFor(ctx, l.started[first])
		case after1: // the two after the cpu one run side by side again
			return waitFor(ctx, l.started[after2])
		}
		return nil
	}
	results, err := newTestScheduler(t, 2, l, wait).Run(context.Background(), scs)
	require.NoError(t, err)
	assert.Equal(t, []string{first, second, cpu, after1, after2}, names(results))
	for _, r := range results {
		assert.Empty(t, r.Error, r.Scenario)
	}
	assert.Empty(t, l.breaches)
	assert.Equal(t, 2, l.maxActive)
	assert.NotEqual(t, l.worker[first], l.worker[second], "each worker its own scenario")
	assert.NotEqual(t, l.worker[after1], l.worker[after2])
	assert.False(t, results[0].RunEnd.Before(results[1].RunEnd), "the first finished last")
	for _, r := range slices.Concat(results[:2], results[3:]) {
		assert.False(t, results[2].RunStart.Before(r.RunEnd), "cpu starts after %s ended", r.Scenario)
	}
}

func TestSchedulerCancel(t *testing.T) {
	scs := scenarios(sim.FaultError, sim.FaultLatency, sim.FaultNone, sim.FaultCPU, sim.FaultDown)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := newRunLog(scs)
	wait := func(ctx context.Context, sc sim.Scenario) error {
		if sc.Name == scs[0].Name { // quick, and the only one that finishes
			return nil
		}
		if sc.Name == scs[2].Name { // the third starts once the first is done: cancel then
			cancel()
		}
		<-ctx.Done()
		return ctx.Err()
	}
	results, err := newTestScheduler(t, 2, l, wait).Run(ctx, scs)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []string{scs[0].Name}, names(results), "only the finished run is a result")
	l.mu.Lock()
	defer l.mu.Unlock()
	assert.False(t, slices.ContainsFunc(scs[3:], func(sc sim.Scenario) bool { _, ran := l.worker[sc.Name]; return ran }), "nothing starts after the cancel")
}

func TestSchedulerNoWorkers(t *testing.T) {
	_, err := (&Scheduler{}).Run(context.Background(), scenarios(sim.FaultNone))
	require.Error(t, err)
}

// Every Faultline watches one application where the workers allow it.
func TestAssign(t *testing.T) {
	sc := func(topos ...string) []sim.Scenario {
		out := make([]sim.Scenario, len(topos))
		for i, tp := range topos {
			out[i] = sim.Scenario{Name: fmt.Sprint(i), Topology: tp}
		}
		return out
	}
	scs := sc("chain5", "chain5", "shop", "shop", "shop", "fanout40", "chain5")
	assert.Equal(t, [][]int{{0, 1, 6}, {2, 3, 4}, {5}}, Assign(scs, 3))
	assert.Equal(t, [][]int{{0, 1, 5, 6}, {2, 3, 4}}, Assign(scs, 2), "fewer workers than topologies: some share")
	assert.Equal(t, [][]int{{0, 1, 2, 3, 4, 5, 6}}, Assign(scs, 1))
	two := sc("shop", "chain5", "shop", "shop", "chain5")
	assert.Equal(t, [][]int{{0, 3}, {1, 4}, {2}}, Assign(two, 3), "spare workers share a topology round-robin")
}
