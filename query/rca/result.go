package rca

import "time"

// Kinds of root cause, as in shared/DESIGN.md.
const (
	KindError      = "error"
	KindLatency    = "latency"
	KindSaturation = "saturation"
	KindDown       = "down"
)

// Result is the answer of GET /api/v1/rca: what went wrong in a window, where it started and
// how far it spread. Lists are empty, never nil; no root cause means nothing is wrong.
type Result struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Findings
}

// Findings are what an analysis found, in a window's Result and in an Incident alike.
type Findings struct {
	// Summary is one sentence for a human: what failed, since when, how far it spread.
	Summary        string      `json:"summary"`
	RootCauses     []RootCause `json:"root_causes"`
	Affected       []Affected  `json:"affected"`
	Paths          [][]string  `json:"paths"`
	ExemplarTraces []string    `json:"exemplar_traces"`
	// Anomalies are the deviations detected in the window, root causes' and victims' alike.
	Anomalies []Anomaly `json:"anomalies"`
}

// RootCause is a node where trouble started, best first.
type RootCause struct {
	Service string `json:"service"`
	// Score in (0, 1]: the node's share of the window's trouble (root causes' scores sum
	// to at most 1).
	Score    float64    `json:"score"`
	Kind     string     `json:"kind"`
	NodeKind string     `json:"node_kind"` // service, database, cache, external, uninstrumented
	Since    time.Time  `json:"since"`
	Evidence []Evidence `json:"evidence"`
}

// Evidence is one fact behind a root cause.
type Evidence struct {
	// Type is anomaly (a RED figure off its baseline), error_origin (traces whose errors start
	// here), latency_origin (traces whose extra time is spent here), error_message,
	// amplification (a caller multiplying its calls).
	Type     string    `json:"type"`
	Text     string    `json:"text"`
	Entity   string    `json:"entity,omitempty"` // a node, or "caller -> callee"
	Signal   string    `json:"signal,omitempty"`
	Baseline *float64  `json:"baseline,omitempty"`
	Current  *float64  `json:"current,omitempty"`
	Unit     string    `json:"unit,omitempty"` // ratio, ms, calls_per_request
	Since    time.Time `json:"since,omitzero"`
	Count    int       `json:"count,omitempty"`
	TraceIDs []string  `json:"trace_ids,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// Affected is a node that suffered only because of a root cause.
type Affected struct {
	Service string `json:"service"`
	// Impact in [0, 1]: the larger of the error rate's rise and the share of the mean
	// duration that is new.
	Impact  float64   `json:"impact"`
	Signals []string  `json:"signals"`
	Since   time.Time `json:"since"`
}

// Anomaly is one detected deviation of a node or an edge.
type Anomaly struct {
	Entity   string    `json:"entity"`
	Signal   string    `json:"signal"` // errors, latency, down, traffic
	Baseline float64   `json:"baseline"`
	Current  float64   `json:"current"`
	Unit     string    `json:"unit"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
}

func emptyResult(start, end time.Time) Result {
	return Result{Start: start, End: end, Findings: Findings{
		Summary:    "Nothing is wrong: no service deviates from its baseline.",
		RootCauses: []RootCause{}, Affected: []Affected{}, Paths: [][]string{},
		ExemplarTraces: []string{}, Anomalies: []Anomaly{},
	}}
}
