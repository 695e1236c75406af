package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/apptest"
	"github.com/faultline/faultline/loadtest/sim"
)

type rcaAnswer struct {
	Summary    string `json:"summary"`
	RootCauses []struct {
		Service  string     `json:"service"`
		Score    float64    `json:"score"`
		Kind     string     `json:"kind"`
		NodeKind string     `json:"node_kind"`
		Evidence []evidence `json:"evidence"`
	} `json:"root_causes"`
	Affected []struct {
		Service string `json:"service"`
	} `json:"affected"`
	Paths          [][]string `json:"paths"`
	ExemplarTraces []string   `json:"exemplar_traces"`
}

type evidence struct {
	Type string `json:"type"`
}

type incidentList struct {
	Incidents []incident `json:"incidents"`
}

type incident struct {
	ID        string     `json:"id"`
	RootCause string     `json:"root_cause"`
	Ongoing   bool       `json:"ongoing"`
	End       *time.Time `json:"end"`
	Summary   string     `json:"summary"`
}

// A database starts failing under a five-service chain: the RCA engine names the database
// (not the five services whose errors rose through it), the whole chain as affected and the
// path from the entry down to it; one incident opens and ends with the fault; a real
// Alertmanager gets FaultlineIncident for the database and the victims' own alerts labelled
// with the incident.
func TestRootCauseOfACascade(t *testing.T) {
	dir := t.TempDir()
	am := startAlertmanager(t, dir)

	// The shipped incident rule, plus a per-service error rule standing for the victims' pages.
	rules := writeServiceErrorsRule(t, dir)
	shipped, err := filepath.Abs("../../deploy/rules/services.yaml")
	require.NoError(t, err)
	f := apptest.StartFaultline(t, faultlineBin, filepath.Join(dir, "data"),
		"-servicegraph.flush-interval=500ms", "-servicegraph.wait=2s",
		"-rules.files="+shipped+","+rules, "-rules.evaluation-interval=1s", "-alertmanager.url=http://"+am.addr,
		"-rca.step=1s", "-rca.baseline=2m", "-rca.evaluation-interval=1s", "-rca.evaluation-window=10s", "-rca.resolve-after=10s")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const faultStart, faultLength = 10 * time.Second, 30 * time.Second
	done := make(chan struct{})
	var gt sim.GroundTruth
	var simErr error
	go func() {
		defer close(done)
		gt, simErr = sim.Run(ctx, sim.Options{Endpoint: f.GRPCAddr}, sim.Scenario{
			Name: "chain5-db-errors", Topology: "chain5", Seed: 11, Rate: 20, Duration: 55 * time.Second,
			Fault: sim.Fault{Kind: sim.FaultError, Target: "ledger-db", Start: faultStart, Duration: faultLength},
		})
	}()
	launched := time.Now()

	// During the fault: the database is named, with the cascade above it.
	var ans rcaAnswer
	apptest.WaitFor(t, 90*time.Second, func() bool {
		ans = rcaAnswer{}
		getJSON(t, f, fmt.Sprintf("/api/v1/rca?start=%d", launched.Unix()), &ans)
		return len(ans.RootCauses) > 0 && ans.RootCauses[0].Service == "ledger-db" && len(ans.Affected) == 5
	}, "/api/v1/rca to name ledger-db with the five services above it affected")
	require.Less(t, time.Since(launched), faultStart+faultLength+5*time.Second, "named while the fault lasts")
	rc := ans.RootCauses[0]
	assert.Equal(t, "error", rc.Kind)
	assert.Equal(t, "database", rc.NodeKind)
	assert.True(t, slices.ContainsFunc(rc.Evidence, func(e evidence) bool { return e.Type == "error_origin" }), "trace evidence")
	assert.Contains(t, ans.Paths, []string{"frontend", "orders", "inventory", "pricing", "ledger", "ledger-db"})
	assert.NotEmpty(t, ans.ExemplarTraces)
	assert.GreaterOrEqual(t, rc.Score, 0.6, "ledger-db stands out: %s", ans.Summary)

	// One incident for the cascade, and the pages: the incident's, and the victims' labelled.
	apptest.WaitFor(t, 60*time.Second, func() bool {
		var l incidentList
		getJSON(t, f, "/api/v1/incidents", &l)
		return len(l.Incidents) == 1 && l.Incidents[0].RootCause == "ledger-db"
	}, "one incident rooted at ledger-db")
	var incident, victim bool // each seen at some point while the incident lasts
	apptest.WaitFor(t, 60*time.Second, func() bool {
		for _, a := range am.alerts() {
			l := a.Labels
			incident = incident || l["alertname"] == "FaultlineIncident" && l["root_cause"] == "ledger-db"
			victim = victim || l["alertname"] == "ServiceErrors" && l["service"] == "pricing" &&
				l["root_cause"] == "ledger-db" && l["incident_role"] == "victim" && l["incident_id"] != ""
		}
		return incident && victim
	}, "Alertmanager to receive FaultlineIncident for ledger-db and pricing's alert as its victim")

	<-done
	require.NoError(t, simErr)
	require.Equal(t, "ledger-db", gt.FaultyService)
	apptest.WaitFor(t, 60*time.Second, func() bool {
		var l incidentList
		getJSON(t, f, "/api/v1/incidents", &l)
		return len(l.Incidents) == 1 && !l.Incidents[0].Ongoing && l.Incidents[0].End != nil
	}, "the incident to end after the fault, still one incident")
}
