package rca

import (
	"context"
	"log/slog"
	"time"

	"github.com/faultline/faultline/loadtest/sim"
)

// RunFunc runs one scenario through the simulator, sending its telemetry to Faultline, and
// returns the ground truth once the run is over.
type RunFunc func(ctx context.Context, sc sim.Scenario) (sim.GroundTruth, error)

// DefaultPollInterval is how often the runner asks for root causes during a fault window.
const DefaultPollInterval = 10 * time.Second

// Runner runs scenarios one after another and scores Faultline's answers.
type Runner struct {
	// RunScenario runs the simulator; tests inject a fake.
	RunScenario RunFunc
	// Faultline answers GET /api/v1/rca.
	Faultline *Client
	// PollInterval is the time between queries during the fault window (DefaultPollInterval
	// when zero; negative: no polling, so no detection times).
	PollInterval time.Duration
	// Logger gets one line as each scenario starts and ends; nil discards.
	Logger *slog.Logger
	// TimeScale is the simulator's time scale (sim.Options.TimeScale) that RunScenario
	// applies, so the runner's own idea of the timeline (when to poll, a none run's nominal
	// window) matches; 0 means 1. Only tests set it: the RCA lookback is not scaled.
	TimeScale float64
}

// scale applies TimeScale to a duration of the scenario's timeline.
func (r *Runner) scale(d time.Duration) time.Duration {
	if r.TimeScale <= 0 || r.TimeScale == 1 {
		return d
	}
	return time.Duration(float64(d) * r.TimeScale)
}

// Run runs every scenario in order. It stops early only when ctx ends, returning the results
// so far and ctx's error.
func (r *Runner) Run(ctx context.Context, scenarios []sim.Scenario) ([]Result, error) {
	results := make([]Result, 0, len(scenarios))
	for _, sc := range scenarios {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		res := r.RunOne(ctx, sc)
		if err := ctx.Err(); err != nil {
			return results, err // the last run was cut short: not a result
		}
		results = append(results, res)
	}
	return results, nil
}

type poll struct {
	at  time.Time
	top string // the first root cause, "" when none or no answer
}

type runOutcome struct {
	gt  sim.GroundTruth
	err error
}

// RunOne runs one scenario: the simulator in the background, a query every PollInterval
// during the expected fault window, then, when the run is over, the final query over the
// fault window the simulator reports and a query for the incidents over the whole run.
func (r *Runner) RunOne(ctx context.Context, sc sim.Scenario) Result {
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	res := Result{Scenario: sc.Name, Topology: sc.Topology, Kind: sc.Fault.Kind, Target: sc.Fault.Target}
	logger.Info("scenario start", "scenario", sc.Name, "topology", sc.Topology, "kind", sc.Fault.Kind, "target", sc.Fault.Target)

	done := make(chan runOutcome, 1)
	launched := time.Now()
	go func() {
		gt, err := r.RunScenario(ctx, sc)
		done <- runOutcome{gt, err}
	}()
	var polls []poll
	var out runOutcome
	if sc.Fault.Kind != sim.FaultNone && r.PollInterval >= 0 {
		out, polls = r.pollUntilDone(ctx, sc, launched, done)
	} else {
		out = <-done
	}
	finished := time.Now()
	res.Polls = len(polls)
	if out.err != nil {
		res.Error = out.err.Error()
		logger.Warn("scenario failed", "scenario", sc.Name, "err", out.err)
		return res
	}

	gt := out.gt
	res.FaultStart, res.FaultEnd = gt.FaultStart, gt.FaultEnd
	if res.FaultStart.IsZero() { // a none run switches nothing on: ask about the nominal window
		base := gt.RunStart
		if base.IsZero() {
			base = launched
		}
		res.FaultStart = base.Add(r.scale(sc.Fault.Start))
	}
	if res.FaultEnd.IsZero() {
		res.FaultEnd = res.FaultStart.Add(r.scale(sc.Fault.Duration))
	}
	res.RunStart, res.RunEnd = gt.RunStart, gt.RunEnd
	if res.RunStart.IsZero() {
		res.RunStart = launched
	}
	if res.RunEnd.IsZero() {
		res.RunEnd = finished
	}
	if sc.Fault.Kind != sim.FaultNone {
		res.FaultyService = gt.FaultyService
		if res.FaultyService == "" {
			res.FaultyService = sc.Fault.Target
		}
	}
	for _, p := range polls {
		if !p.at.Before(res.FaultStart) && p.top != "" && p.top == res.FaultyService {
			res.Detected, res.Detection = true, p.at.Sub(res.FaultStart)
			break
		}
	}
	res.Answer = r.Faultline.RCA(ctx, res.FaultStart.Add(-Lookback), res.FaultEnd)
	res.Rank = res.Answer.Rank(res.FaultyService)
	inc := r.Faultline.Incidents(ctx, res.RunStart, res.RunEnd)
	res.IncidentsOK, res.IncidentsProblem = inc.OK, inc.Problem
	if inc.OK {
		for _, i := range inc.Incidents {
			if i.Start.Before(res.RunStart) {
				res.CarriedOver++ // the previous run's trouble, still closing
				continue
			}
			res.Incidents++
			res.IncidentRootCauses = append(res.IncidentRootCauses, i.FirstRootCause())
		}
	}
	attrs := []any{"scenario", sc.Name, "rank", res.Rank, "top3", res.Answer.Top(3), "polls", res.Polls}
	if !res.Answer.OK {
		attrs = append(attrs, "no_answer", res.Answer.Problem)
	}
	if inc.OK {
		attrs = append(attrs, "incidents", res.Incidents)
	} else {
		attrs = append(attrs, "incidents_no_answer", inc.Problem)
	}
	logger.Info("scenario done", attrs...)
	return res
}

// pollUntilDone queries Faultline every PollInterval from the expected fault start (the
// launch time plus the scenario's fault start: the simulator's own set-up makes the real one
// a little later) until the expected fault end or the end of the run, and returns the run's
// outcome with the polls.
func (r *Runner) pollUntilDone(ctx context.Context, sc sim.Scenario, launched time.Time, done <-chan runOutcome) (runOutcome, []poll) {
	interval := r.PollInterval
	if interval == 0 {
		interval = DefaultPollInterval
	}
	start := launched.Add(r.scale(sc.Fault.Start))
	end := start.Add(r.scale(sc.Fault.Duration))
	next := start.Add(interval)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	var polls []poll
	for {
		select {
		case out := <-done:
			return out, polls
		case <-timer.C:
			now := time.Now()
			if now.After(end) {
				return <-done, polls
			}
			a := r.Faultline.RCA(ctx, start.Add(-Lookback), now)
			p := poll{at: now}
			if top := a.Top(1); len(top) == 1 {
				p.top = top[0]
			}
			polls = append(polls, p)
			next = next.Add(interval)
			for !next.After(time.Now()) { // a slow answer: skip the missed ticks
				next = next.Add(interval)
			}
			timer.Reset(time.Until(next))
		}
	}
}
