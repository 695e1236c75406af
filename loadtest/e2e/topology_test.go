package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/apptest"
	"github.com/faultline/faultline/loadtest/sim"
)

type topology struct {
	Nodes []struct {
		Service   string  `json:"service"`
		Kind      string  `json:"kind"`
		Requests  float64 `json:"requests"`
		Errors    float64 `json:"errors"`
		ErrorRate float64 `json:"error_rate"`
		Health    string  `json:"health"`
	} `json:"nodes"`
	Edges []struct {
		Caller   string  `json:"caller"`
		Callee   string  `json:"callee"`
		Requests float64 `json:"requests"`
		Errors   float64 `json:"errors"`
	} `json:"edges"`
}

type promVector struct {
	Status string `json:"status"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// The simulator drives a known topology; /api/v1/topology returns exactly its edges, the
// uninstrumented dependency included, with counts matching what was sent, and PromQL over the
// same series agrees with it.
func TestTopologyFromSimulatedTraffic(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir(), "-servicegraph.flush-interval=500ms", "-servicegraph.wait=2s")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gt, err := sim.Run(ctx, sim.Options{Endpoint: f.GRPCAddr}, sim.Scenario{
		Name: "chain5-topology", Topology: "chain5", Fault: sim.Fault{Kind: sim.FaultNone}, Seed: 7, Rate: 20, Duration: 5 * time.Second,
	})
	require.NoError(t, err)
	require.Positive(t, gt.Requests)
	require.Zero(t, gt.FailedEntries)
	sent := float64(gt.Requests)

	window := fmt.Sprintf("start=%d&end=", gt.RunStart.Add(-time.Minute).Unix())
	var topo topology
	apptest.WaitFor(t, 30*time.Second, func() bool {
		topo = topology{}
		getJSON(t, f, "/api/v1/topology?"+window+strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10), &topo)
		total := 0.0
		for _, e := range topo.Edges {
			total += e.Requests
		}
		return len(topo.Edges) == len(gt.Topology.Edges) && total >= sent*float64(len(gt.Topology.Edges))*0.99
	}, "every edge of chain5 with every request counted")

	want := map[string]bool{}
	for _, e := range gt.Topology.Edges {
		want[e.Caller+"→"+e.Callee] = true
	}
	for _, e := range topo.Edges {
		key := e.Caller + "→" + e.Callee
		require.Truef(t, want[key], "unexpected edge %s", key)
		require.InEpsilonf(t, sent, e.Requests, 0.01, "edge %s: %v requests, %v sent", key, e.Requests, sent)
		require.Zero(t, e.Errors, key)
	}
	kinds := map[string]string{}
	for _, n := range topo.Nodes {
		kinds[n.Service] = n.Kind
		require.Equal(t, "ok", n.Health, n.Service)
	}
	for _, n := range gt.Topology.Nodes {
		require.Equalf(t, n.Kind, kinds[n.Name], "node %s", n.Name)
	}

	// Grafana's Jaeger data source reads the same edges from the dependencies API.
	var deps struct {
		Data []struct {
			Parent    string `json:"parent"`
			Child     string `json:"child"`
			CallCount int64  `json:"callCount"`
		} `json:"data"`
	}
	getJSON(t, f, fmt.Sprintf("/jaeger/api/dependencies?endTs=%d&lookback=%d", time.Now().Add(time.Minute).UnixMilli(),
		time.Since(gt.RunStart.Add(-time.Minute)).Milliseconds()+time.Minute.Milliseconds()), &deps)
	require.Len(t, deps.Data, len(topo.Edges))
	for _, d := range deps.Data {
		require.Truef(t, want[d.Parent+"→"+d.Child], "unexpected dependency %s→%s", d.Parent, d.Child)
		require.InEpsilon(t, sent, float64(d.CallCount), 0.01)
	}

	// PromQL over the span-derived series gives the same numbers.
	var v promVector
	getJSON(t, f, "/prometheus/api/v1/query?query="+url.QueryEscape("sum by (caller, callee) (faultline_edge_requests_total)"), &v)
	require.Equal(t, "success", v.Status)
	require.Len(t, v.Data.Result, len(topo.Edges))
	for _, r := range v.Data.Result {
		got, err := strconv.ParseFloat(r.Value[1].(string), 64)
		require.NoError(t, err)
		found := false
		for _, e := range topo.Edges {
			if e.Caller == r.Metric["caller"] && e.Callee == r.Metric["callee"] {
				found = true
				require.InDeltaf(t, e.Requests, got, 1e-9, "%s→%s", e.Caller, e.Callee)
			}
		}
		require.Truef(t, found, "PromQL edge %v not in the topology", r.Metric)
	}
}

// A rule fires when a fault starts and a real Alertmanager receives the alert, then its
// resolution when the fault ends.
func TestAlertReachesAlertmanager(t *testing.T) {
	dir := t.TempDir()
	am := startAlertmanager(t, dir)

	rules := writeServiceErrorsRule(t, dir)
	f := apptest.StartFaultline(t, faultlineBin, filepath.Join(dir, "data"),
		"-servicegraph.flush-interval=500ms", "-rules.files="+rules, "-rules.evaluation-interval=1s",
		"-alertmanager.url=http://"+am.addr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := sim.Run(ctx, sim.Options{Endpoint: f.GRPCAddr}, sim.Scenario{
			Name: "chain5-errors", Topology: "chain5", Seed: 3, Rate: 10, Duration: 14 * time.Second,
			Fault: sim.Fault{Kind: sim.FaultError, Target: "pricing", Start: 2 * time.Second, Duration: 6 * time.Second},
		})
		done <- err
	}()

	firing := func() bool {
		for _, a := range am.alerts() {
			if a.Labels["alertname"] == "ServiceErrors" && a.Labels["service"] == "pricing" && a.Status.State == "active" && a.EndsAt.After(time.Now()) {
				return true
			}
		}
		return false
	}
	apptest.WaitFor(t, 60*time.Second, firing, "Alertmanager to receive ServiceErrors for pricing")
	require.NoError(t, <-done)
	apptest.WaitFor(t, 60*time.Second, func() bool { return !firing() }, "the alert to resolve after the fault")
}

// alertmanager is a real Alertmanager (Debian's, which `make test` installs) with one
// receiver that sends nowhere, so that alerts can be read back from its API.
type alertmanager struct {
	addr   string
	client *http.Client
}

type amAlert struct {
	Labels map[string]string `json:"labels"`
	EndsAt time.Time         `json:"endsAt"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

func startAlertmanager(t *testing.T, dir string) *alertmanager {
	t.Helper()
	const amBin = "/usr/bin/prometheus-alertmanager"
	if _, err := os.Stat(amBin); err != nil {
		t.Fatalf("%s is missing: `make test` installs Debian's prometheus-alertmanager", amBin)
	}
	cfg := filepath.Join(dir, "am.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("route:\n  receiver: devnull\n  group_wait: 0s\nreceivers:\n  - name: devnull\n"), 0o600))
	am := &alertmanager{addr: fmt.Sprintf("127.0.0.1:%d", apptest.FreePort(t)), client: apptest.HTTPClient()}
	cmd := exec.Command(amBin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+am.addr, "--cluster.listen-address=")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return am
}

// alerts are the alerts Alertmanager holds; nil while it does not answer.
func (am *alertmanager) alerts() []amAlert {
	resp, err := am.client.Get("http://" + am.addr + "/api/v2/alerts")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []amAlert
	if err := decodeJSON(resp.Body, &out); err != nil {
		return nil
	}
	return out
}

// writeServiceErrorsRule writes a rule file with ServiceErrors: a page, evaluated every
// second, for every service that answered an error in the last 5 s.
func writeServiceErrorsRule(t *testing.T, dir string) string {
	t.Helper()
	rules := filepath.Join(dir, "service-errors.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(`groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: ServiceErrors
        expr: sum by (service) (increase(faultline_service_errors_total[5s])) > 0
        labels: {severity: page}
        annotations: {summary: "{{ $labels.service }} answers errors"}
`), 0o600))
	return rules
}
