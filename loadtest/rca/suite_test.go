package rca

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/loadtest/sim"
)

func writeSuite(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "suite.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestLoadSuiteGood(t *testing.T) {
	s, err := LoadSuite("testdata/suite_good.yaml")
	require.NoError(t, err)
	assert.Equal(t, Defaults{Rate: 15, Duration: 150 * time.Second, FaultStart: time.Minute, FaultDuration: 60 * time.Second, FaultShare: 1}, s.Defaults)
	require.Len(t, s.Scenarios, 3)

	// Defaults fill what a scenario leaves unset.
	assert.Equal(t, sim.Scenario{
		Name: "chain5-latency-pricing", Topology: "chain5", Seed: 7, Rate: 15, Duration: 150 * time.Second,
		Fault: sim.Fault{Kind: sim.FaultLatency, Target: "pricing", Start: time.Minute, Duration: time.Minute, Share: 1, Latency: 2 * time.Second},
	}, s.Scenarios[0])
	// A scenario's own values win; a bare number is seconds.
	assert.Equal(t, sim.Scenario{
		Name: "shop-error-postgres", Topology: "shop", Seed: 8, Rate: 40, Duration: 200 * time.Second,
		Fault: sim.Fault{Kind: sim.FaultError, Target: "postgres", Start: 90 * time.Second, Duration: 45 * time.Second, Share: 0.5},
	}, s.Scenarios[1])
	// A none scenario keeps the window it is asked about, and no share.
	assert.Equal(t, sim.Scenario{
		Name: "shop-none", Topology: "shop", Seed: 9, Rate: 15, Duration: 150 * time.Second,
		Fault: sim.Fault{Kind: sim.FaultNone, Start: time.Minute, Duration: time.Minute},
	}, s.Scenarios[2])
}

func TestLoadSuiteErrors(t *testing.T) {
	const head = "defaults: {duration: 150s, fault: {start: 60s, duration: 60s}}\nscenarios:\n"
	tests := []struct {
		name, body string
		want       []string // substrings of the error, besides the file's path
	}{
		{"unknown top-level key", "defaults: {}\nscenario:\n  - name: a\n", []string{"line 2", `unknown key "scenario"`}},
		{"unknown key in defaults", "defaults: {rates: 3}\nscenarios: []\n", []string{"line 1", `unknown key "rates"`}},
		{"unknown key in a fault", head + "  - {name: a, topology: chain5, seed: 1, fault: {kind: error, targt: orders}}\n", []string{"line 3", `unknown key "targt"`}},
		{"unknown key in a scenario", head + "  - name: a\n    topology: chain5\n    sed: 1\n    fault: {kind: none}\n", []string{"line 5", `unknown key "sed"`}},
		{"bad kind", head + "  - {name: a, topology: chain5, seed: 1, fault: {kind: eror, target: orders}}\n", []string{`scenario 1 "a"`, `fault kind "eror" is not one of none, error, latency`}},
		{"bad duration", head + "  - {name: a, topology: chain5, seed: 1, fault: {kind: error, target: orders, duration: 60 seconds}}\n", []string{"line 3", `bad duration "60 seconds"`}},
		{"negative duration", "defaults: {fault: {start: -5s}}\nscenarios: []\n", []string{"line 1", `negative duration "-5s"`}},
		{"duration as a list", "defaults: {duration: [1]}\nscenarios: []\n", []string{"line 1", "a duration must be"}},
		{"unknown topology", head + "  - {name: a, topology: chain6, seed: 1, fault: {kind: none}}\n", []string{`scenario 1 "a"`, `unknown topology "chain6"`}},
		{"unknown target", head + "  - {name: a, topology: chain5, seed: 1, fault: {kind: error, target: nosuch}}\n", []string{`unknown fault target "nosuch" in topology chain5`}},
		{"no target", head + "  - {name: a, topology: shop, seed: 1, fault: {kind: down}}\n", []string{"fault kind down needs a target"}},
		{"target on none", head + "  - {name: a, topology: shop, seed: 1, fault: {kind: none, target: cart}}\n", []string{"none takes no target"}},
		{"process fault on a dependency", head + "  - {name: a, topology: shop, seed: 1, fault: {kind: cpu, target: redis}}\n", []string{`fault "cpu" cannot target dependency "redis"`}},
		{"latency on another kind", head + "  - {name: a, topology: shop, seed: 1, fault: {kind: error, target: cart, latency: 1s}}\n", []string{"latency applies only to latency faults"}},
		{"fault too early", head + "  - {name: a, topology: shop, seed: 1, fault: {kind: error, target: cart, start: 30s}}\n", []string{"fault start 30s: must be at least 1m0s"}},
		{"no fault duration", "scenarios:\n  - {name: a, topology: shop, seed: 1, fault: {kind: error, target: cart, start: 60s}}\n", []string{"no fault duration"}},
		{"share above 1", head + "  - {name: a, topology: shop, seed: 1, fault: {kind: error, target: cart, share: 1.5}}\n", []string{"fault share 1.5"}},
		{"run ends before the fault", head + "  - {name: a, topology: shop, seed: 1, duration: 100s, fault: {kind: error, target: cart}}\n", []string{"run duration 1m40s ends before the fault does (2m0s)"}},
		{"duplicate name", head + "  - {name: a, topology: shop, seed: 1, fault: {kind: none}}\n  - {name: a, topology: shop, seed: 2, fault: {kind: none}}\n", []string{`scenario 2: duplicate name "a"`}},
		{"bad name", head + "  - {name: 'a b', topology: shop, seed: 1, fault: {kind: none}}\n", []string{`name "a b" must be`}},
		{"no scenarios", "defaults: {rate: 2}\n", []string{"no scenarios"}},
		{"empty file", "", []string{"empty file"}},
		{"not YAML", "scenarios: [\n", []string{"yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSuite(t, tt.body)
			_, err := LoadSuite(path)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrBadSuite), "%v is not ErrBadSuite", err)
			assert.Contains(t, err.Error(), path+": ")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadSuiteMissingFile(t *testing.T) {
	_, err := LoadSuite(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope.yaml")
}

func FuzzParseSuite(f *testing.F) {
	good, err := os.ReadFile("testdata/suite_good.yaml")
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte("defaults: {duration: 1e300}\nscenarios: []\n"))
	f.Add([]byte("scenarios:\n  - {name: a, fault: {kind: none, start: 99999999999}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSuite("fuzz.yaml", b)
		if err != nil {
			return
		}
		for _, sc := range s.Scenarios {
			require.NoError(t, validateScenario(sc))
		}
	})
}
