package rca

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/loadtest/sim"
)

// Result is what happened to one scenario: the ground truth, Faultline's final answer about
// the fault window and its rank of the true cause.
type Result struct {
	Scenario string `json:"scenario"`
	Topology string `json:"topology"`
	Kind     string `json:"kind"`
	Target   string `json:"target,omitempty"`
	// FaultyService is the node scored as the right answer: the ground truth's faulty
	// service (the scenario's target when the simulator leaves it empty); "" for none.
	FaultyService string    `json:"faulty_service,omitempty"`
	FaultStart    time.Time `json:"fault_start,omitzero"`
	FaultEnd      time.Time `json:"fault_end,omitzero"`
	// Error is set when the simulator failed; such a scenario is reported but not scored.
	Error string `json:"error,omitempty"`
	// Answer is the final GET /api/v1/rca over [fault start - Lookback, fault end].
	Answer Answer `json:"answer"`
	// Rank is the 1-based position of FaultyService in Answer.RootCauses, 0 when absent or
	// when there was no answer.
	Rank int `json:"rank"`
	// Polls counts the queries made during the fault window; Detected and Detection say
	// whether, and how long after the fault started, a poll first ranked the true cause first.
	Polls     int           `json:"polls"`
	Detected  bool          `json:"detected"`
	Detection time.Duration `json:"-"`
	// RunStart and RunEnd are the simulator run's wall-clock bounds, the window asked about
	// incidents.
	RunStart time.Time `json:"run_start,omitzero"`
	RunEnd   time.Time `json:"run_end,omitzero"`
	// IncidentsOK says whether GET /api/v1/incidents over [RunStart, RunEnd] answered (a 404
	// while the endpoint does not exist, another status, a malformed body or a connection
	// error is no answer, with the reason in IncidentsProblem). Incidents counts the incidents
	// it listed that started during the run and IncidentRootCauses holds each one's first
	// root cause ("" when it names none), in the answer's order; CarriedOver counts those that
	// started before the run (the previous run's trouble, ending as this one starts).
	IncidentsOK        bool     `json:"incidents_ok"`
	IncidentsProblem   string   `json:"incidents_problem,omitempty"`
	Incidents          int      `json:"incidents"`
	IncidentRootCauses []string `json:"incident_root_causes,omitempty"`
	CarriedOver        int      `json:"incidents_carried_over,omitempty"`
}

// MarshalJSON writes Detection as seconds.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	var det *float64
	if r.Detected {
		s := r.Detection.Seconds()
		det = &s
	}
	return json.Marshal(struct {
		plain
		DetectionSeconds *float64 `json:"detection_seconds"`
	}{plain(r), det})
}

// Scored says whether r counts in AC@k: a fault scenario whose run succeeded.
func (r Result) Scored() bool { return r.Error == "" && r.Kind != sim.FaultNone }

// FalseAlarm says whether r is a none scenario that Faultline blamed something for.
func (r Result) FalseAlarm() bool {
	return r.Error == "" && r.Kind == sim.FaultNone && r.Answer.OK && len(r.Answer.RootCauses) > 0
}

// Quiet says whether r is a none scenario answered correctly: no root causes.
func (r Result) Quiet() bool {
	return r.Error == "" && r.Kind == sim.FaultNone && r.Answer.OK && len(r.Answer.RootCauses) == 0
}

// FalseIncident says whether r is a none scenario during which Faultline opened an incident.
func (r Result) FalseIncident() bool {
	return r.Error == "" && r.Kind == sim.FaultNone && r.IncidentsOK && r.Incidents > 0
}

// SplitIncident says whether r is a fault scenario that Faultline reported as more than one
// incident: one cascade should be one incident.
func (r Result) SplitIncident() bool { return r.Scored() && r.IncidentsOK && r.Incidents > 1 }

// Undetected says whether r is a scored scenario that was polled during its fault window but
// never had the true cause ranked first.
func (r Result) Undetected() bool { return r.Scored() && r.Polls > 0 && !r.Detected }

// Score is the RCAEval measures over a set of fault scenarios.
type Score struct {
	Scenarios int `json:"scenarios"`
	// AC[k-1] is AC@k: the share of scenarios whose true cause ranked 1..k.
	AC   [5]float64 `json:"ac"`
	Avg5 float64    `json:"avg5"` // mean of AC@1..AC@5
	// Detected counts scenarios a poll caught (true cause first) during the fault window;
	// MeanDetectionSeconds and MaxDetectionSeconds are their mean and longest time from fault
	// start. Undetected counts the polled scenarios no poll caught (Result.Undetected).
	Detected             int     `json:"detected"`
	MeanDetectionSeconds float64 `json:"mean_detection_seconds"`
	MaxDetectionSeconds  float64 `json:"max_detection_seconds"`
	Undetected           int     `json:"undetected"`
}

// AC1 is AC@1.
func (s Score) AC1() float64 { return s.AC[0] }

// AC3 is AC@3.
func (s Score) AC3() float64 { return s.AC[2] }

// ScoreResults scores the results that count (Result.Scored), ignoring the others.
func ScoreResults(results []Result) Score {
	var s Score
	var hits [5]int
	var detSum, detMax time.Duration
	for _, r := range results {
		if !r.Scored() {
			continue
		}
		s.Scenarios++
		for k := 1; k <= 5; k++ {
			if r.Rank >= 1 && r.Rank <= k {
				hits[k-1]++
			}
		}
		if r.Detected {
			s.Detected++
			detSum += r.Detection
			detMax = max(detMax, r.Detection)
		}
		if r.Undetected() {
			s.Undetected++
		}
	}
	if s.Scenarios == 0 {
		return s
	}
	var sum float64
	for k := range hits {
		s.AC[k] = float64(hits[k]) / float64(s.Scenarios)
		sum += s.AC[k]
	}
	s.Avg5 = sum / 5
	if s.Detected > 0 {
		s.MeanDetectionSeconds = detSum.Seconds() / float64(s.Detected)
		s.MaxDetectionSeconds = detMax.Seconds()
	}
	return s
}

// KindScore is the score of one fault kind.
type KindScore struct {
	Kind string `json:"kind"`
	Score
}

// NoneScore counts the fault-free scenarios by outcome.
type NoneScore struct {
	Scenarios   int `json:"scenarios"`
	Quiet       int `json:"quiet"`        // answered with no root causes: right
	FalseAlarms int `json:"false_alarms"` // answered with root causes: wrong
	NoAnswer    int `json:"no_answer"`    // no usable answer (404, not JSON, unreachable)
}

// Answered is the none scenarios /api/v1/rca answered: the false alarm rate's denominator.
func (n NoneScore) Answered() int { return n.Quiet + n.FalseAlarms }

// IncidentScore counts the scenarios (whose simulator run succeeded) by what
// /api/v1/incidents said about their run.
type IncidentScore struct {
	// NoneAnswered counts the none scenarios with an answer; FalseIncidents those of them
	// during which an incident was open.
	NoneAnswered   int `json:"none_answered"`
	FalseIncidents int `json:"false_incidents"`
	// FaultAnswered counts the fault scenarios with an answer; Split those reported as more
	// than one incident, Missed those with none.
	FaultAnswered int `json:"fault_answered"`
	Split         int `json:"split_incidents"`
	Missed        int `json:"missed"`
	// NoAnswer counts the scenarios with no answer (404 while the endpoint does not exist).
	NoAnswer int `json:"no_answer"`
}

// Summary is the whole suite's scores.
type Summary struct {
	Overall Score       `json:"overall"`
	ByKind  []KindScore `json:"by_kind"`
	None    NoneScore   `json:"none"`
	// Incidents is what GET /api/v1/incidents said about each run.
	Incidents IncidentScore `json:"incidents"`
	Failed    int           `json:"failed"` // scenarios whose simulator run failed (not scored)
}

// Summarize scores results overall and per fault kind (in sim.FaultKinds order, then any
// other kind by name).
func Summarize(results []Result) Summary {
	s := Summary{Overall: ScoreResults(results)}
	var kinds []string
	for _, r := range results {
		if r.Error != "" {
			s.Failed++
			continue
		}
		s.Incidents.add(r)
		if r.Kind == sim.FaultNone {
			s.None.Scenarios++
			switch {
			case r.Quiet():
				s.None.Quiet++
			case r.FalseAlarm():
				s.None.FalseAlarms++
			default:
				s.None.NoAnswer++
			}
			continue
		}
		if !slices.Contains(kinds, r.Kind) {
			kinds = append(kinds, r.Kind)
		}
	}
	slices.SortFunc(kinds, func(a, b string) int {
		ia, ib := slices.Index(sim.FaultKinds, a), slices.Index(sim.FaultKinds, b)
		switch {
		case ia < 0 && ib < 0:
			return strings.Compare(a, b)
		case ia < 0:
			return 1
		case ib < 0:
			return -1
		}
		return ia - ib
	})
	for _, k := range kinds {
		var of []Result
		for _, r := range results {
			if r.Kind == k {
				of = append(of, r)
			}
		}
		s.ByKind = append(s.ByKind, KindScore{Kind: k, Score: ScoreResults(of)})
	}
	return s
}

func (s *IncidentScore) add(r Result) {
	switch {
	case !r.IncidentsOK:
		s.NoAnswer++
	case r.Kind == sim.FaultNone:
		s.NoneAnswered++
		if r.FalseIncident() {
			s.FalseIncidents++
		}
	default:
		s.FaultAnswered++
		switch {
		case r.SplitIncident():
			s.Split++
		case r.Incidents == 0:
			s.Missed++
		}
	}
}
