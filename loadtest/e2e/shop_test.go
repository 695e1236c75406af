// Package e2e runs the simulator against the real faultline binary.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline/faultline/internal/apptest"
	"github.com/faultline/faultline/loadtest/sim"
)

var faultlineBin string

func TestMain(m *testing.M) { os.Exit(apptest.RunWithBinary(m, "faultline", &faultlineBin)) }

func getJSON(t *testing.T, f *apptest.Faultline, path string, out any) {
	t.Helper()
	resp, err := f.Client.Get(f.URL(path))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equalf(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	require.NoError(t, json.Unmarshal(body, out), string(body))
}

// The shop topology, run against the real binary, shows every service through
// /api/v1/services and every uninstrumented dependency through its callers' CLIENT spans.
func TestShopTopologyVisibleInFaultline(t *testing.T) {
	f := apptest.StartFaultline(t, faultlineBin, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gt, err := sim.Run(ctx, sim.Options{Endpoint: f.GRPCAddr}, sim.Scenario{
		Name: "shop-smoke", Topology: "shop", Fault: sim.Fault{Kind: sim.FaultNone}, Seed: 1, Rate: 30, Duration: 6 * time.Second,
	})
	require.NoError(t, err)
	require.Positive(t, gt.Requests)

	var services struct{ Services []string }
	getJSON(t, f, "/api/v1/services", &services)
	window := fmt.Sprintf("start=%d&end=%d", gt.RunStart.Add(-time.Minute).Unix(), gt.RunEnd.Add(time.Minute).Unix())
	for _, n := range gt.Topology.Nodes {
		if n.Kind == "service" {
			require.Contains(t, services.Services, n.Name, "service %s", n.Name)
			continue
		}
		// A dependency sends nothing: it is found through the CLIENT spans that call it.
		var found struct {
			Traces []struct {
				TraceID string `json:"trace_id"`
			} `json:"traces"`
		}
		getJSON(t, f, "/api/v1/traces?"+window+"&limit=1&attr="+url.QueryEscape("peer.service="+n.Name), &found)
		require.NotEmptyf(t, found.Traces, "no trace calls dependency %s (%s)", n.Name, n.Kind)
	}
	var traces struct {
		Traces []struct {
			RootService string `json:"root_service"`
			SpanCount   int    `json:"span_count"`
		} `json:"traces"`
	}
	getJSON(t, f, "/api/v1/traces?"+window+"&service=frontend&limit=5", &traces)
	require.NotEmpty(t, traces.Traces)
	for _, tr := range traces.Traces {
		require.Equal(t, "frontend", tr.RootService)
		require.Greater(t, tr.SpanCount, 3, "a shop request crosses several services")
	}
}

func decodeJSON(r io.Reader, out any) error { return json.NewDecoder(r).Decode(out) }
