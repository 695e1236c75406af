package rca

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/faultline/faultline/loadtest/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeFaultline stands in for Faultline's GET /api/v1/rca and /api/v1/incidents. The RCA
// engine does not exist yet, so this stub answers fixed rankings per scenario (the scenario
// whose run is current), one answer for the polls made during the fault window and one for
// the final query, or a 404 as Faultline does today; and fixed incidents, or a 404.
type fakeFaultline struct {
	mu         sync.Mutex
	current    string
	answers    map[string]stubAnswer
	queries    map[string][][2]int64 // scenario -> (start, end) of every RCA query
	incQueries map[string][][2]int64 // scenario -> (start, end) of every incidents query
	badToken   int
}

type stubAnswer struct {
	polls     []string // root causes while the run is going on
	final     []string // root causes once it is over
	status    int      // answer this status instead (404: no RCA engine)
	done      bool     // set when the run is over
	incidents []string // each incident's first root cause ("": none); nil: 404
}

func (f *fakeFaultline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer t0k" {
		f.badToken++
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/api/v1/rca" && r.URL.Path != "/api/v1/incidents" {
		http.NotFound(w, r)
		return
	}
	start, err1 := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(r.URL.Query().Get("end"), 10, 64)
	if err1 != nil || err2 != nil {
		http.Error(w, `{"error":"bad start or end"}`, http.StatusBadRequest)
		return
	}
	a := f.answers[f.current]
	if r.URL.Path == "/api/v1/incidents" {
		f.incQueries[f.current] = append(f.incQueries[f.current], [2]int64{start, end})
		if a.incidents == nil {
			http.NotFound(w, r)
			return
		}
		incs := []map[string]any{}
		for i, rc := range a.incidents {
			began := time.Unix(end, 0) // inside the run
			if prev, ok := strings.CutPrefix(rc, "prev:"); ok {
				rc, began = prev, time.Unix(start-60, 0) // the previous run's, still closing
			}
			rcs := []map[string]any{}
			if rc != "" {
				rcs = append(rcs, map[string]any{"service": rc, "score": 0.9, "kind": "error", "evidence": []string{}})
			}
			incs = append(incs, map[string]any{
				"id": strconv.Itoa(i), "start": began.UTC().Format(time.RFC3339), "end": nil, "ongoing": true,
				"root_causes": rcs, "affected": []any{}, "paths": [][]string{}, "exemplar_traces": []string{},
			})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"incidents": incs})
		return
	}
	f.queries[f.current] = append(f.queries[f.current], [2]int64{start, end})
	if a.status != 0 {
		http.Error(w, "404 page not found", a.status)
		return
	}
	services := a.polls
	if a.done {
		services = a.final
	}
	rcs := []map[string]any{}
	for i, s := range services {
		rcs = append(rcs, map[string]any{"service": s, "score": 1 / float64(i+1), "kind": "error", "evidence": []string{}})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"root_causes": rcs, "affected": []any{}, "paths": [][]string{}, "exemplar_traces": []string{}})
}

func (f *fakeFaultline) setCurrent(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current = name
}

func (f *fakeFaultline) finish(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.answers[name]
	a.done = true
	f.answers[name] = a
}

func TestRunner(t *testing.T) {
	const runFor = 400 * time.Millisecond
	ff := &fakeFaultline{
		queries:    map[string][][2]int64{},
		incQueries: map[string][][2]int64{},
		answers: map[string]stubAnswer{
			"shop-error-payment":  {polls: []string{"payment", "checkout"}, final: []string{"payment", "checkout", "frontend"}, incidents: []string{"payment"}},
			"shop-latency-redis":  {polls: []string{"cart"}, final: []string{"cart", "checkout", "redis"}, incidents: []string{"cart", ""}},
			"chain5-down-pricing": {status: http.StatusNotFound},
			"shop-none":           {final: []string{}, incidents: []string{"prev:payment"}},
			"chain5-none":         {final: []string{"orders"}, incidents: []string{"orders"}},
		},
	}
	srv := httptest.NewServer(ff)
	defer srv.Close()

	truths := map[string]sim.GroundTruth{}
	var truthsMu sync.Mutex
	// The fake simulator: the fault is on from the start of a short run; for shop-latency-redis
	// the ground truth names the faulty node itself, for the others it is left to the target.
	fakeRun := func(ctx context.Context, sc sim.Scenario) (sim.GroundTruth, error) {
		ff.setCurrent(sc.Name)
		if sc.Name == "shop-cpu-catalog" {
			return sim.GroundTruth{}, errors.New("start services: boom")
		}
		gt := sim.GroundTruth{Scenario: sc.Name, RunStart: time.Now(), Fault: sc.Fault}
		if sc.Fault.Kind != sim.FaultNone {
			gt.FaultStart = gt.RunStart
			gt.FaultyService = sc.Fault.Target
		}
		select {
		case <-time.After(runFor):
		case <-ctx.Done():
			return gt, ctx.Err()
		}
		if sc.Fault.Kind != sim.FaultNone {
			gt.FaultEnd = time.Now()
		}
		ff.finish(sc.Name)
		truthsMu.Lock()
		truths[sc.Name] = gt
		truthsMu.Unlock()
		return gt, nil
	}
	scenario := func(name, topo, kind, target string) sim.Scenario {
		return sim.Scenario{Name: name, Topology: topo, Fault: sim.Fault{Kind: kind, Target: target, Duration: runFor}}
	}
	scenarios := []sim.Scenario{
		scenario("shop-error-payment", "shop", sim.FaultError, "payment"),
		scenario("shop-latency-redis", "shop", sim.FaultLatency, "redis"),
		scenario("chain5-down-pricing", "chain5", sim.FaultDown, "pricing"),
		scenario("shop-cpu-catalog", "shop", sim.FaultCPU, "catalog"),
		scenario("shop-none", "shop", sim.FaultNone, ""),
		scenario("chain5-none", "chain5", sim.FaultNone, ""),
	}
	r := &Runner{RunScenario: fakeRun, Faultline: testClient(t, srv.URL, "t0k"), PollInterval: 50 * time.Millisecond}
	results, err := r.Run(context.Background(), scenarios)
	require.NoError(t, err)
	require.Len(t, results, len(scenarios))
	byName := map[string]Result{}
	for _, res := range results {
		byName[res.Scenario] = res
	}

	pay := byName["shop-error-payment"]
	assert.Equal(t, 1, pay.Rank)
	assert.True(t, pay.Detected, "payment ranked first while the fault was on")
	assert.Positive(t, pay.Polls)
	assert.Greater(t, pay.Detection, time.Duration(0))
	assert.Less(t, pay.Detection, runFor)

	redis := byName["shop-latency-redis"]
	assert.Equal(t, 3, redis.Rank)
	assert.Equal(t, "redis", redis.FaultyService)
	assert.False(t, redis.Detected, "never ranked first")
	assert.Positive(t, redis.Polls)

	down := byName["chain5-down-pricing"]
	assert.Equal(t, 0, down.Rank, "a 404 is no answer")
	assert.False(t, down.Answer.OK)
	assert.Equal(t, http.StatusNotFound, down.Answer.Status)
	assert.Empty(t, down.Error)

	// Incidents over the whole run: counted with each one's first root cause; a 404 is no
	// answer; a failed run is not asked.
	assert.True(t, pay.IncidentsOK)
	assert.Equal(t, 1, pay.Incidents)
	assert.Equal(t, []string{"payment"}, pay.IncidentRootCauses)
	assert.Equal(t, 2, redis.Incidents)
	assert.Equal(t, []string{"cart", ""}, redis.IncidentRootCauses)
	assert.True(t, redis.SplitIncident())
	assert.False(t, down.IncidentsOK)
	assert.Equal(t, "404 Not Found", down.IncidentsProblem)
	assert.Zero(t, down.Incidents)
	assert.Empty(t, ff.incQueries["shop-cpu-catalog"])
	assert.False(t, byName["shop-none"].FalseIncident(), "an incident that began before the run is not the run's")
	assert.Equal(t, 1, byName["shop-none"].CarriedOver)
	assert.True(t, byName["chain5-none"].FalseIncident())
	for _, name := range []string{"shop-error-payment", "shop-none"} {
		q := ff.incQueries[name]
		require.Len(t, q, 1, name)
		gt, res := truths[name], byName[name]
		assert.Equal(t, gt.RunStart, res.RunStart, name)
		assert.False(t, res.RunEnd.Before(gt.RunStart.Add(runFor)), "the window ends when the run finished: %s", name)
		assert.Equal(t, res.RunStart.Unix(), q[0][0], name)
		assert.Equal(t, res.RunEnd.Add(time.Second-1).Unix(), q[0][1], name)
	}

	assert.Equal(t, "start services: boom", byName["shop-cpu-catalog"].Error)
	assert.True(t, byName["shop-none"].Quiet())
	assert.True(t, byName["chain5-none"].FalseAlarm())
	assert.Zero(t, byName["shop-none"].Polls, "none scenarios are asked once, at the end")

	// The final query covers [fault start - 1m, fault end] in Unix seconds.
	for _, name := range []string{"shop-error-payment", "chain5-down-pricing"} {
		q := ff.queries[name]
		require.NotEmpty(t, q)
		gt := truths[name]
		assert.Equal(t, gt.FaultStart.Add(-time.Minute).Unix(), q[len(q)-1][0], name)
		assert.Equal(t, gt.FaultEnd.Add(time.Second-1).Unix(), q[len(q)-1][1], name)
	}
	// A none run has no fault window of its own: the nominal one from the run's start.
	q := ff.queries["shop-none"]
	require.Len(t, q, 1)
	assert.Equal(t, truths["shop-none"].RunStart.Add(-time.Minute).Unix(), q[0][0])
	assert.Zero(t, ff.badToken, "every query carried the bearer token")

	// Scored: payment (1), redis (3), pricing (0); catalog failed, the none runs do not count.
	// AC@1 = 1/3, AC@2 = 1/3, AC@3..5 = 2/3: Avg@5 = (2/3 + 3 * 2/3) / 5 = 8/15 = 0.53.
	report := NewReport("test", srv.URL, results)
	assert.True(t, strings.HasPrefix(report.FinalLine(), "AC@1=0.33 AC@3=0.67 Avg@5=0.53 scenarios=3 false_alarms=1/2 false_incidents=1/2 split_incidents=1 detection_mean="), report.FinalLine())
	assert.True(t, strings.HasSuffix(report.FinalLine(), " undetected=2"), "redis and pricing polled, never first: %s", report.FinalLine())
	assert.Equal(t, NoneScore{Scenarios: 2, Quiet: 1, FalseAlarms: 1}, report.Summary.None)
	assert.Equal(t, IncidentScore{NoneAnswered: 2, FalseIncidents: 1, FaultAnswered: 2, Split: 1, NoAnswer: 1}, report.Summary.Incidents)
	assert.Equal(t, 1, report.Summary.Failed)
}

func TestRunnerNoFaultline(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	r := &Runner{
		RunScenario: func(context.Context, sim.Scenario) (sim.GroundTruth, error) {
			now := time.Now()
			return sim.GroundTruth{FaultStart: now, FaultEnd: now, FaultyService: "orders"}, nil
		},
		Faultline: testClient(t, url, ""), PollInterval: -1,
	}
	results, err := r.Run(context.Background(), []sim.Scenario{{Name: "a", Fault: sim.Fault{Kind: sim.FaultError, Target: "orders"}}})
	require.NoError(t, err)
	require.Len(t, results, 1)
	assert.Equal(t, 0, results[0].Rank)
	assert.Equal(t, "connection refused", results[0].Answer.Problem)
}

func TestRunnerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	r := &Runner{
		RunScenario: func(ctx context.Context, _ sim.Scenario) (sim.GroundTruth, error) {
			close(started)
			<-ctx.Done()
			return sim.GroundTruth{}, ctx.Err()
		},
		Faultline: testClient(t, "http://127.0.0.1:1", ""), PollInterval: time.Hour,
	}
	go func() {
		<-started
		cancel()
	}()
	results, err := r.Run(ctx, []sim.Scenario{
		{Name: "a", Fault: sim.Fault{Kind: sim.FaultError, Target: "x", Duration: time.Hour}},
		{Name: "b", Fault: sim.Fault{Kind: sim.FaultNone}},
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, results)
}
