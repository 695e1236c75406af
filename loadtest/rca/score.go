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

// Score is the RCAEval measures over a set of fault scenarios.
type Score struct {
	Scenarios int `json:"scenarios"`
	// AC[k-1] is AC@k: the share of scenarios whose true cause ranked 1..k.
	AC   [5]float64 `json:"ac"`
	Avg5 float64    `json:"avg5"` // mean of AC@1..AC@5
	// Detected counts scenarios a poll caught (true cause first) during the fault window;
	// MeanDetectionSeconds is their mean time from fault start.
	Detected             int     `json:"detected"`
	MeanDetectionSeconds float64 `json:"mean_detection_seconds"`
}

// AC1 is AC@1.
func (s Score) AC1() float64 { return s.AC[0] }

// AC3 is AC@3.
func (s Score) AC3() float64 { return s.AC[2] }

// ScoreResults scores the results that count (Result.Scored), ignoring the others.
func ScoreResults(results []Result) Score {
	var s Score
	var hits [5]int
	var detSum time.Duration
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

// Summary is the whole suite's scores.
type Summary struct {
	Overall Score       `json:"overall"`
	ByKind  []KindScore `json:"by_kind"`
	None    NoneScore   `json:"none"`
	Failed  int         `json:"failed"` // scenarios whose simulator run failed (not scored)
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
