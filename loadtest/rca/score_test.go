package rca

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/sim"
)

// fault is a scored scenario result of the given kind and rank.
func fault(kind string, rank int) Result {
	return Result{Scenario: kind, Kind: kind, Rank: rank, Answer: Answer{OK: true, Status: 200}}
}

func detected(r Result, d time.Duration) Result {
	r.Detected, r.Detection, r.Polls = true, d, 6
	return r
}

func TestScoreResults(t *testing.T) {
	const eps = 1e-12
	tests := []struct {
		name    string
		results []Result
		want    Score
	}{
		{
			name: "nothing scored",
			want: Score{},
		},
		{
			// ranks 1, 2, 0, 5 (the none and the failed run do not count): N = 4.
			// AC@1 = 1/4; AC@2 = AC@3 = AC@4 = 2/4; AC@5 = 3/4.
			// Avg@5 = (0.25 + 0.5 + 0.5 + 0.5 + 0.75) / 5 = 2.5 / 5 = 0.5.
			name: "mixed ranks",
			results: []Result{
				fault(sim.FaultError, 1), fault(sim.FaultError, 2), fault(sim.FaultLatency, 0), fault(sim.FaultDown, 5),
				{Kind: sim.FaultNone, Answer: Answer{OK: true}},
				{Kind: sim.FaultError, Rank: 1, Error: "simulator failed"},
			},
			want: Score{Scenarios: 4, AC: [5]float64{0.25, 0.5, 0.5, 0.5, 0.75}, Avg5: 0.5},
		},
		{
			// ranks 3, 3, 6: N = 3. AC@1 = AC@2 = 0; AC@3..5 = 2/3 (rank 6 never counts).
			// Avg@5 = (0 + 0 + 3 * 2/3) / 5 = 2/5 = 0.4.
			name:    "below the top",
			results: []Result{fault(sim.FaultCPU, 3), fault(sim.FaultCPU, 3), fault(sim.FaultCPU, 6)},
			want:    Score{Scenarios: 3, AC: [5]float64{0, 0, 2.0 / 3, 2.0 / 3, 2.0 / 3}, Avg5: 0.4},
		},
		{
			// all first: every AC@k = 1, Avg@5 = 1. Two detected, after 10 s and 30 s: mean 20 s.
			name: "perfect",
			results: []Result{
				detected(fault(sim.FaultDrop, 1), 10*time.Second), detected(fault(sim.FaultDrop, 1), 30*time.Second), fault(sim.FaultDrop, 1),
			},
			want: Score{Scenarios: 3, AC: [5]float64{1, 1, 1, 1, 1}, Avg5: 1, Detected: 2, MeanDetectionSeconds: 20},
		},
		{
			// no answer at all (the RCA engine does not exist yet): rank 0 everywhere, N = 2, all 0.
			name:    "no answers",
			results: []Result{{Kind: sim.FaultError}, {Kind: sim.FaultLatency}},
			want:    Score{Scenarios: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScoreResults(tt.results)
			assert.Equal(t, tt.want.Scenarios, got.Scenarios)
			assert.InDeltaSlice(t, tt.want.AC[:], got.AC[:], eps)
			assert.InDelta(t, tt.want.Avg5, got.Avg5, eps)
			assert.Equal(t, tt.want.Detected, got.Detected)
			assert.InDelta(t, tt.want.MeanDetectionSeconds, got.MeanDetectionSeconds, eps)
		})
	}
}

func TestSummarize(t *testing.T) {
	results := []Result{
		fault(sim.FaultLatency, 2),
		fault(sim.FaultError, 1),
		fault(sim.FaultError, 0),
		fault("meteor", 1), // a kind the harness does not know sorts last
		{Kind: sim.FaultNone, Answer: Answer{OK: true, Status: 200}},                                             // quiet: right
		{Kind: sim.FaultNone, Answer: Answer{OK: true, Status: 200, RootCauses: []RootCause{{Service: "cart"}}}}, // false alarm
		{Kind: sim.FaultNone, Answer: Answer{Status: 404, Problem: "404 Not Found"}},                             // no answer
		{Kind: sim.FaultDown, Error: "boom"},
	}
	s := Summarize(results)
	require.Len(t, s.ByKind, 3)
	assert.Equal(t, []string{sim.FaultError, sim.FaultLatency, "meteor"}, []string{s.ByKind[0].Kind, s.ByKind[1].Kind, s.ByKind[2].Kind})
	// error: ranks 1, 0 -> AC@k = 1/2 for every k, Avg@5 = 0.5.
	assert.Equal(t, 2, s.ByKind[0].Scenarios)
	assert.InDelta(t, 0.5, s.ByKind[0].Avg5, 1e-12)
	// latency: rank 2 -> AC@1 = 0, AC@2..5 = 1, Avg@5 = 4/5.
	assert.InDelta(t, 0.8, s.ByKind[1].Avg5, 1e-12)
	// overall: ranks 2, 1, 0, 1 -> AC@1 = 2/4, AC@3 = 3/4, Avg@5 = (0.5 + 4 * 0.75) / 5 = 0.7.
	assert.Equal(t, 4, s.Overall.Scenarios)
	assert.InDelta(t, 0.5, s.Overall.AC1(), 1e-12)
	assert.InDelta(t, 0.75, s.Overall.AC3(), 1e-12)
	assert.InDelta(t, 0.7, s.Overall.Avg5, 1e-12)
	assert.Equal(t, NoneScore{Scenarios: 3, Quiet: 1, FalseAlarms: 1, NoAnswer: 1}, s.None)
	assert.Equal(t, 1, s.Failed)
}

func TestAnswerRank(t *testing.T) {
	a := Answer{OK: true, RootCauses: []RootCause{{Service: "checkout"}, {Service: "Payment"}, {Service: "payment"}, {Service: "payment"}}}
	assert.Equal(t, 1, a.Rank("checkout"))
	assert.Equal(t, 3, a.Rank("payment"), "compared exactly, first occurrence")
	assert.Equal(t, 0, a.Rank("pay"))
	assert.Equal(t, 0, a.Rank(""))
	assert.Equal(t, []string{"checkout", "Payment", "payment"}, a.Top(3))
	a.OK = false
	assert.Equal(t, 0, a.Rank("checkout"), "no answer ranks nothing")
}
