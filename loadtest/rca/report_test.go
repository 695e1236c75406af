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
		}),
		win(Result{
			Scenario: "shop-latency-redis", Topology: "shop", Kind: sim.FaultLatency, Target: "redis", FaultyService: "redis",
			Answer: answer("cart", "checkout", "redis"), Rank: 3, Polls: 6,
		}),
		win(Result{
			Scenario: "chain5-latency-ledger", Topology: "chain5", Kind: sim.FaultLatency, Target: "ledger", FaultyService: "ledger",
			Answer: answer("ledger"), Rank: 1, Polls: 6, Detected: true, Detection: 35 * time.Second,
		}),
		win(Result{
			Scenario: "chain5-down-pricing", Topology: "chain5", Kind: sim.FaultDown, Target: "pricing", FaultyService: "pricing",
			Answer: Answer{Status: 404, Problem: "404 Not Found"}, Polls: 6,
		}),
		win(Result{
			Scenario: "chain5-drop-orders", Topology: "chain5", Kind: sim.FaultDrop, Target: "orders", FaultyService: "orders",
			Answer: Answer{Problem: "connection refused"},
		}),
		win(Result{
			Scenario: "chain5-cpu-orders", Topology: "chain5", Kind: sim.FaultCPU, Target: "orders", FaultyService: "orders",
			Answer: Answer{Status: 200, Problem: "non-JSON body"}, Polls: 6,
		}),
		win(Result{Scenario: "chain5-none", Topology: "chain5", Kind: sim.FaultNone, Answer: answer()}),
		win(Result{Scenario: "shop-none", Topology: "shop", Kind: sim.FaultNone, Answer: answer("ad")}),
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
		}
	}
	tests := []struct {
		name    string
		results []Result
		final   string
	}{
		// Scored: 6 fault runs (the none runs and the failed run do not count) with ranks
		// 1, 3, 1, 0, 0, 0: AC@1 = 2/6, AC@3 = 3/6, Avg@5 = (2/6 + 2/6 + 3/6 + 3/6 + 3/6) / 5 = 13/30.
		{"report", sampleResults(), "AC@1=0.33 AC@3=0.50 Avg@5=0.43 scenarios=6"},
		// Before the RCA engine exists every answer is a 404: honest zeros.
		{"report_no_engine", noEngine, "AC@1=0.00 AC@3=0.00 Avg@5=0.00 scenarios=6"},
		{"report_empty", nil, "AC@1=0.00 AC@3=0.00 Avg@5=0.00 scenarios=0"},
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
				Scenarios int       `json:"scenarios"`
				AC        []float64 `json:"ac"`
			} `json:"overall"`
			ByKind []map[string]any `json:"by_kind"`
			None   NoneScore        `json:"none"`
			Failed int              `json:"failed"`
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
}
