package rca

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/sim"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func answer(services ...string) Answer {
	a := Answer{OK: true, Status: 200, RootCauses: []RootCause{}}
	for i, s := range services {
		a.RootCauses = append(a.RootCauses, RootCause{Service: s, Score: 1 / float64(i+1), Kind: "error"})
	}
	return a
}

// sampleResults has one of each outcome the report distinguishes.
func sampleResults() []Result {
	t0 := time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)
	win := func(r Result) Result {
		r.FaultStart, r.FaultEnd = t0, t0.Add(time.Minute)
		return r
	}
	return []Result{
		win(Result{
			Scenario: "shop-error-payment", Topology: "shop", Kind: sim.FaultError, Target: "payment", FaultyService: "payment",
			Answer: answer("payment", "checkout", "frontend", "cart"), Rank: 1, Polls: 6, Detected: true, Detection: 20 * time.Second,
			IncidentsOK: true, Incidents: 1, IncidentRootCauses: []string{"payment"},
		}),
		win(Result{
			Scenario: "shop-latency-redis", Topology: "shop", Kind: sim.FaultLatency, Target: "redis", FaultyService: "redis",
			Answer: answer("cart", "checkout", "redis"), Rank: 3, Polls: 6,
			IncidentsOK: true, Incidents: 2, IncidentRootCauses: []string{"cart", "redis"},
		}),
		win(Result{
			Scenario: "chain5-latency-ledger", Topology: "chain5", Kind: sim.FaultLatency, Target: "ledger", FaultyService: "ledger",
			Answer: answer("ledger"), Rank: 1, Polls: 6, Detected: true, Detection: 35 * time.Second,
			IncidentsOK: true, Incidents: 1, IncidentRootCauses: []string{"ledger"},
		}),
		win(Result{
			Scenario: "chain5-down-pricing", Topology: "chain5", Kind: sim.FaultDown, Target: "pricing", FaultyService: "pricing",
			Answer: Answer{Status: 404, Problem: "404 Not Found"}, Polls: 6,
			IncidentsProblem: "404 Not Found",
		}),
		win(Result{
			Scenario: "chain5-drop-orders", Topology: "chain5", Kind: sim.FaultDrop, Target: "orders", FaultyService: "orders",
			Answer: Answer{Problem: "connection refused"}, IncidentsOK: true,
		}),
		win(Result{
			Scenario: "chain5-cpu-orders", Topology: "chain5", Kind: sim.FaultCPU, Target: "orders", FaultyService: "orders",
			Answer: Answer{Status: 200, Problem: "non-JSON body"}, Polls: 6,
			IncidentsProblem: "connection refused",
		}),
		win(Result{Scenario: "chain5-none", Topology: "chain5", Kind: sim.FaultNone, Answer: answer(), IncidentsOK: true}),
		win(Result{
			Scenario: "shop-none", Topology: "shop", Kind: sim.FaultNone, Answer: answer("ad"),
			IncidentsOK: true, Incidents: 1, IncidentRootCauses: []string{""},
		}),
		{
			Scenario: "shop-bad_deploy-cart", Topology: "shop", Kind: sim.FaultBadDeploy, Target: "cart",
			Error: "start services: listen tcp 127.0.0.1:0: too many open files",
		},
	}
}

func TestReportGolden(t *testing.T) {
	noEngine := sampleResults()
	for i := range noEngine {
		if noEngine[i].Error == "" {
			noEngine[i].Answer, noEngine[i].Rank, noEngine[i].Detected, noEngine[i].Detection = Answer{Status: 404, Problem: "404 Not Found"}, 0, false, 0
			noEngine[i].IncidentsOK, noEngine[i].IncidentsProblem, noEngine[i].Incidents, noEngine[i].IncidentRootCauses = false, "404 Not Found", 0, nil
		}
	}
	tests := []struct {
		name    string
		results []Result
		final   string
	}{
		// Scored: 6 fault runs (the none runs and the failed run do not count) with ranks
		// 1, 3, 1, 0, 0, 0: AC@1 = 2/6, AC@3 = 3/6, Avg@5 = (2/6 + 2/6 + 3/6 + 3/6 + 3/6) / 5 = 13/30.
		// False alarms: shop-none of the 2 answered none runs; false incidents: shop-none too;
		// split: shop-latency-redis. Detected in 20s and 35s; polled but never caught: redis,
		// pricing, cpu-orders (drop-orders was not polled).
		{"report", sampleResults(), "AC@1=0.33 AC@3=0.50 Avg@5=0.43 scenarios=6 false_alarms=1/2 false_incidents=1/2 split_incidents=1 detection_mean=28s detection_max=35s undetected=3"},
		// Before the RCA engine and the incidents API exist every answer is a 404: honest zeros
		// over nothing answered.
		{"report_no_engine", noEngine, "AC@1=0.00 AC@3=0.00 Avg@5=0.00 scenarios=6 false_alarms=0/0 false_incidents=0/0 split_incidents=0 detection_mean=- detection_max=- undetected=5"},
		{"report_empty", nil, "AC@1=0.00 AC@3=0.00 Avg@5=0.00 scenarios=0 false_alarms=0/0 false_incidents=0/0 split_incidents=0 detection_mean=- detection_max=- undetected=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReport("loadtest/suites/test.yaml", "http://127.0.0.1:7070", tt.results)
			var buf bytes.Buffer
			require.NoError(t, r.WriteText(&buf))
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			assert.Equal(t, tt.final, lines[len(lines)-1], "the last line")
			assert.Equal(t, tt.final, r.FinalLine())

			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), buf.String(), "report differs from %s (go test -update to accept)", path)
		})
	}
}

func TestReportJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "rca.json")
	r := NewReport("quick.yaml", "http://127.0.0.1:7070", sampleResults())
	require.NoError(t, r.WriteJSON(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var got struct {
		Results []map[string]any `json:"results"`
		Summary struct {
			Overall struct {
				Scenarios            int       `json:"scenarios"`
				AC                   []float64 `json:"ac"`
				MeanDetectionSeconds float64   `json:"mean_detection_seconds"`
				MaxDetectionSeconds  float64   `json:"max_detection_seconds"`
				Undetected           int       `json:"undetected"`
			} `json:"overall"`
			ByKind    []map[string]any `json:"by_kind"`
			None      NoneScore        `json:"none"`
			Incidents map[string]int   `json:"incidents"`
			Failed    int              `json:"failed"`
		} `json:"summary"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got.Results, 9)
	assert.InDelta(t, 20.0, got.Results[0]["detection_seconds"], 1e-9)
	assert.Nil(t, got.Results[1]["detection_seconds"])
	assert.Equal(t, "shop-error-payment", got.Results[0]["scenario"])
	assert.Equal(t, 6, got.Summary.Overall.Scenarios)
	assert.Equal(t, NoneScore{Scenarios: 2, Quiet: 1, FalseAlarms: 1}, got.Summary.None)
	assert.Equal(t, 1, got.Summary.Failed)
	assert.Equal(t, "error", got.Summary.ByKind[0]["kind"])

	// Incidents, per scenario and in the summary, and the detection measures.
	assert.Equal(t, true, got.Results[1]["incidents_ok"])
	assert.InDelta(t, 2, got.Results[1]["incidents"], 0)
	assert.Equal(t, []any{"cart", "redis"}, got.Results[1]["incident_root_causes"])
	assert.Equal(t, false, got.Results[3]["incidents_ok"])
	assert.Equal(t, "404 Not Found", got.Results[3]["incidents_problem"])
	assert.Equal(t, map[string]int{
		"none_answered": 2, "false_incidents": 1, "fault_answered": 4, "split_incidents": 1, "missed": 1, "no_answer": 2,
	}, got.Summary.Incidents)
	assert.InDelta(t, 27.5, got.Summary.Overall.MeanDetectionSeconds, 1e-9)
	assert.InDelta(t, 35.0, got.Summary.Overall.MaxDetectionSeconds, 1e-9)
	assert.Equal(t, 3, got.Summary.Overall.Undetected)
}

// The measures that go on the final line, one case at a time.
func TestSummaryIncidentsAndDetection(t *testing.T) {
	none := func(incidents int, ok bool) Result {
		return Result{Kind: sim.FaultNone, Answer: answer(), IncidentsOK: ok, Incidents: incidents}
	}
	fault := func(incidents int, det time.Duration) Result {
		r := Result{Kind: sim.FaultError, FaultyService: "a", Answer: answer("a"), Rank: 1, Polls: 3, IncidentsOK: true, Incidents: incidents}
		if det > 0 {
			r.Detected, r.Detection = true, det
		}
		return r
	}
	failed := fault(3, 0)
	failed.Error = "boom"
	results := []Result{
		none(0, true), none(2, true), none(1, false), // one false incident of two answered
		fault(1, 10*time.Second), fault(2, 40*time.Second), fault(0, 0), fault(3, 0), // two split, one missed, two undetected
		failed, // not counted anywhere but Failed
	}
	s := Summarize(results)
	assert.Equal(t, IncidentScore{NoneAnswered: 2, FalseIncidents: 1, FaultAnswered: 4, Split: 2, Missed: 1, NoAnswer: 1}, s.Incidents)
	assert.Equal(t, 2, s.Overall.Detected)
	assert.InDelta(t, 25.0, s.Overall.MeanDetectionSeconds, 1e-9)
	assert.InDelta(t, 40.0, s.Overall.MaxDetectionSeconds, 1e-9)
	assert.Equal(t, 2, s.Overall.Undetected)
	assert.Equal(t, 1, s.Failed)
	assert.Equal(t, "AC@1=1.00 AC@3=1.00 Avg@5=1.00 scenarios=4 false_alarms=0/3 false_incidents=1/2 split_incidents=2 detection_mean=25s detection_max=40s undetected=2",
		NewReport("s", "f", results).FinalLine())
}
