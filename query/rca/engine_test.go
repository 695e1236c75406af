package rca

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/faultline/faultline/internal/metricstore"
)

// Scenarios run the shop for 12 minutes, 16 requests per 15 s step, with a fault from minute
// 9 on, and analyse the last 6 minutes: the fault fills a quarter of the history the
// engine's baselines are taken from.
const (
	scenarioEnd     = 12 * time.Minute
	scenarioFrom    = 6 * time.Minute
	scenarioFault   = 9 * time.Minute
	scenarioPerStep = 16
)

// scenario is one world and what the engine must answer about it.
type scenario struct {
	name  string
	topo  topology
	fault fault
	check func(t *testing.T, w *world, res Result)
}

func TestAnalyzeScenarios(t *testing.T) {
	from := scenarioFault
	scenarios := []scenario{{
		// cart fails 30% of its requests, fast; checkout retries it up to 4 more times, so
		// checkout's answers (and the frontend's) almost never suffer. The engine still
		// reports cart: its errors are anomalies, and each failed trace whose root did not fail
		// counts half (chargeErrors) but is still charged to where it started.
		name: "error caught and retried upstream", topo: shop(),
		fault: during("cart", from, 0, effect{errRate: 0.3}),
		check: func(t *testing.T, w *world, res Result) {
			rc := requireTop(t, res, "cart", KindError, metricstore.KindService)
			requireSince(t, rc, at(from))
			requireEvidence(t, rc, "anomaly", "error_origin", "error_message")
			requireMessage(t, rc, "invariant violated in cart")
			assert.Empty(t, res.Affected, "retries hid the failures: nobody suffered")
			assert.Empty(t, res.Paths)
			requireExemplars(t, w, res, "cart")
		},
	}, {
		// payments takes 1.5 s more; checkout gives up after 1 s, and fails, and so does the
		// frontend.
		name: "timeout caused by a slow callee", topo: shop(),
		fault: during("payments", from, 0, effect{latency: 1500 * time.Millisecond}),
		check: func(t *testing.T, w *world, res Result) {
			rc := requireTop(t, res, "payments", KindLatency, metricstore.KindService)
			requireSince(t, rc, at(from))
			requireAffected(t, res, "checkout", "frontend")
			requirePath(t, res, "frontend", "checkout", "payments")
			requireEvidence(t, rc, "anomaly", "error_origin", "latency_origin")
			requireMessage(t, rc, "context deadline exceeded")
			requireExemplars(t, w, res, "payments")
		},
	}, {
		// payments stops answering: its callers' connections are refused. The CLIENT spans
		// name it as HTTP instrumentations do, by server.address and server.port
		// ("payments:8080"), which the service graph resolves to the service payments.
		name: "dead callee named by address", topo: shop(),
		fault: during("payments", from, 0, effect{down: true}),
		check: checkDown,
	}, {
		name: "dead callee named by peer.service", topo: withPeerService(shop(), "checkout", "payments"),
		fault: during("payments", from, 0, effect{down: true}),
		check: checkDown,
	}, {
		// Two branches fail at once for unrelated reasons: payments throws, recommendations is
		// slow (catalog gives up after 300 ms and carries on without them).
		name: "two independent faults", topo: shop(),
		fault: faults(
			during("payments", from, 0, effect{errRate: 0.4}),
			during("recommendations", from, 0, effect{latency: 400 * time.Millisecond})),
		check: func(t *testing.T, w *world, res Result) {
			require.GreaterOrEqual(t, len(res.RootCauses), 2, brief(res))
			top2 := []string{res.RootCauses[0].Service, res.RootCauses[1].Service}
			require.ElementsMatch(t, []string{"payments", "recommendations"}, top2, brief(res))
			assert.Equal(t, KindError, rootCause(t, res, "payments").Kind, brief(res))
			assert.Equal(t, KindLatency, rootCause(t, res, "recommendations").Kind, brief(res))
			requireAffected(t, res, "catalog", "checkout", "frontend")
			requirePath(t, res, "frontend", "checkout", "payments")
			requirePath(t, res, "frontend", "catalog", "recommendations")
			requireExemplars(t, w, res, "payments")
		},
	}, {
		// checkout's own code got 300 ms slower; everything it calls answers as before.
		name: "caller's own code regressed", topo: shop(),
		fault: during("checkout", from, 0, effect{latency: 300 * time.Millisecond}),
		check: func(t *testing.T, w *world, res Result) {
			rc := requireTop(t, res, "checkout", KindLatency, metricstore.KindService)
			requireSince(t, rc, at(from))
			for _, callee := range []string{"cart", "payments", "orders", "redis", "stripe"} {
				if c, ok := findRootCause(res, callee); ok {
					assert.Less(t, c.Score, 0.1, "%s answers as before\n%s", callee, brief(res))
				}
			}
			requireAffected(t, res, "frontend")
			requirePath(t, res, "frontend", "checkout")
			requireEvidence(t, rc, "anomaly", "latency_origin")
			requireExemplars(t, w, res, "checkout")
		},
	}, {
		// The orders database fails 40% of the inserts; checkout fails with them.
		name: "database erroring", topo: shop(),
		fault: during("orders", from, 0, effect{errRate: 0.4}),
		check: func(t *testing.T, w *world, res Result) {
			rc := requireTop(t, res, "orders", KindError, metricstore.KindDatabase)
			requireSince(t, rc, at(from))
			requireAffected(t, res, "checkout", "frontend")
			requirePath(t, res, "frontend", "checkout", "orders")
			requireEvidence(t, rc, "anomaly", "error_origin", "error_message")
			requireMessage(t, rc, "ERROR: deadlock detected (SQLSTATE 40P01)")
			requireExemplars(t, w, res, "orders")
		},
	}, {
		// Nothing goes wrong: durations jitter by ±20%, payments and stripe fail now and then
		// as they always do.
		name: "no fault", topo: shop(), fault: noFault,
		check: func(t *testing.T, _ *world, res Result) {
			want := emptyResult(at(scenarioFrom), at(scenarioEnd))
			assert.Equal(t, want, res, brief(res))
		},
	}, {
		// checkout sends every call 5 times at once; its callees cope.
		name: "retry storm, callees unharmed", topo: shop(),
		fault: during("checkout", from, 0, effect{storm: 5}),
		check: checkStorm,
	}, {
		// checkout sends every call 5 times at once; payments and stripe fail 1% of their
		// requests, as they always do, and so 5 times as many of checkout's requests fail.
		name: "retry storm, callees failing now and then", topo: withErrRates(shop(), map[string]float64{"payments": 0.01, "stripe": 0.01}),
		fault: during("checkout", from, 0, effect{storm: 5}),
		check: checkStorm,
	}, {
		// checkout sends every call 5 times at once; cart slows down under the load.
		name: "retry storm, flooded callee slows", topo: shop(),
		fault: faults(
			during("checkout", from, 0, effect{storm: 5}),
			during("cart", from, 0, effect{latency: 60 * time.Millisecond})),
		check: checkStorm,
	}}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, sc.topo, scenarioPerStep, sc.fault)
			w.runUntil(scenarioEnd)
			res, err := w.engine(defaultConfig()).Analyze(context.Background(), at(scenarioFrom), at(scenarioEnd))
			require.NoError(t, err)
			sc.check(t, w, res)
		})
	}
}

func checkDown(t *testing.T, w *world, res Result) {
	rc := requireTop(t, res, "payments", KindDown, metricstore.KindService)
	requireSince(t, rc, at(scenarioFault))
	for _, r := range res.RootCauses {
		assert.NotEqual(t, "payments:8080", r.Service, "payments:8080 is the address of the service payments\n%s", brief(res))
	}
	requireAffected(t, res, "checkout", "frontend")
	requirePath(t, res, "frontend", "checkout", "payments")
	requireEvidence(t, rc, "anomaly", "error_origin", "error_message")
	require.True(t, slices.ContainsFunc(rc.Evidence, func(e Evidence) bool { return e.Type == "anomaly" && e.Signal == signalDown }),
		"a down anomaly\n%s", brief(res))
	requireMessage(t, rc, "dial tcp 10.0.7.12:8080: connect: connection refused")
	requireExemplars(t, w, res, "payments")
}

func checkStorm(t *testing.T, _ *world, res Result) {
	rc := requireTop(t, res, "checkout", KindSaturation, metricstore.KindService)
	requireSince(t, rc, at(scenarioFault))
	requireEvidence(t, rc, "amplification")
	for _, e := range rc.Evidence {
		if e.Type == "amplification" {
			require.NotNil(t, e.Current)
			assert.InDelta(t, 5, *e.Current, 0.5, e.Text)
		}
	}
}

// TestAnalyzeLongOutage: payments is down for the last 5 of the 12 minutes of history. Its
// callers' refused calls take 1 ms instead of 70: a figure that the fault lowers. The
// baselines are documented (README.md) as honest while a fault fills up to about two thirds
// of the buckets, so the buckets before the outage must not turn into anomalies.
func TestAnalyzeLongOutage(t *testing.T) {
	t.Parallel()
	down := scenarioEnd - 5*time.Minute
	w := newWorld(t, withPeerService(shop(), "checkout", "payments"), scenarioPerStep,
		during("payments", down, 0, effect{down: true}))
	w.runUntil(scenarioEnd)
	res, err := w.engine(defaultConfig()).Analyze(context.Background(), at(scenarioFrom), at(scenarioEnd))
	require.NoError(t, err)
	requireTop(t, res, "payments", KindDown, metricstore.KindService)
	for _, a := range res.Anomalies {
		assert.False(t, a.Since.Before(at(down-worldStep)), "anomaly before the outage: %+v", a)
	}
}

// withErrRates sets the usual error rates of nodes.
func withErrRates(topo topology, rates map[string]float64) topology {
	for name, r := range rates {
		n := topo.nodes[name]
		n.errRate = r
		topo.nodes[name] = n
	}
	return topo
}

// withPeerService makes caller's calls to callee name it in peer.service too.
func withPeerService(topo topology, caller, callee string) topology {
	n := topo.nodes[caller]
	n.calls = slices.Clone(n.calls)
	for i := range n.calls {
		if n.calls[i].to == callee {
			n.calls[i].peerService = true
		}
	}
	topo.nodes[caller] = n
	return topo
}

// brief is an answer in a few lines, for failure messages.
func brief(res Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "summary: %s\nroot causes:", res.Summary)
	for _, r := range res.RootCauses {
		fmt.Fprintf(&b, " %s(%s, %s, %.3f)", r.Service, r.Kind, r.NodeKind, r.Score)
	}
	b.WriteString("\naffected:")
	for _, a := range res.Affected {
		fmt.Fprintf(&b, " %s%v", a.Service, a.Signals)
	}
	fmt.Fprintf(&b, "\npaths: %v\nanomalies:", res.Paths)
	for _, a := range res.Anomalies {
		fmt.Fprintf(&b, "\n  %s %s %.3f -> %.3f %s since %s", a.Entity, a.Signal, a.Baseline, a.Current, a.Unit, a.Since.Format("15:04:05"))
	}
	return b.String()
}

func findRootCause(res Result, service string) (RootCause, bool) {
	i := slices.IndexFunc(res.RootCauses, func(r RootCause) bool { return r.Service == service })
	if i < 0 {
		return RootCause{}, false
	}
	return res.RootCauses[i], true
}

func rootCause(t *testing.T, res Result, service string) RootCause {
	t.Helper()
	rc, ok := findRootCause(res, service)
	require.True(t, ok, "%s is not a root cause\n%s", service, brief(res))
	return rc
}

// requireTop checks the first root cause.
func requireTop(t *testing.T, res Result, service, kind, nodeKind string) RootCause {
	t.Helper()
	require.NotEmpty(t, res.RootCauses, brief(res))
	rc := res.RootCauses[0]
	require.Equal(t, service, rc.Service, "first root cause\n%s", brief(res))
	assert.Equal(t, kind, rc.Kind, "kind of %s\n%s", service, brief(res))
	assert.Equal(t, nodeKind, rc.NodeKind, "node kind of %s\n%s", service, brief(res))
	assert.Greater(t, rc.Score, 0.0)
	assert.Contains(t, res.Summary, service)
	return rc
}

// requireSince checks that a root cause's trouble starts within a step or two of the fault:
// a counter sample covers the flush interval before it.
func requireSince(t *testing.T, rc RootCause, fault time.Time) {
	t.Helper()
	assert.WithinRange(t, rc.Since, fault.Add(-2*worldStep), fault.Add(2*worldStep), "since of %s", rc.Service)
}

func requireAffected(t *testing.T, res Result, services ...string) {
	t.Helper()
	var got []string
	for _, a := range res.Affected {
		got = append(got, a.Service)
		assert.Positive(t, a.Impact, a.Service)
		assert.NotEmpty(t, a.Signals, a.Service)
	}
	for _, s := range services {
		assert.Contains(t, got, s, "affected\n%s", brief(res))
	}
	for _, r := range res.RootCauses {
		assert.NotContains(t, got, r.Service, "a root cause is not a victim")
	}
}

func requirePath(t *testing.T, res Result, path ...string) {
	t.Helper()
	assert.True(t, slices.ContainsFunc(res.Paths, func(p []string) bool { return slices.Equal(p, path) }),
		"path %v\n%s", path, brief(res))
}

func requireEvidence(t *testing.T, rc RootCause, types ...string) {
	t.Helper()
	var got []string
	for _, e := range rc.Evidence {
		got = append(got, e.Type)
		assert.NotEmpty(t, e.Text, "evidence text")
		if e.Type == "error_origin" || e.Type == "latency_origin" {
			assert.NotEmpty(t, e.TraceIDs, "%s evidence of %s has traces", e.Type, rc.Service)
		}
	}
	for _, typ := range types {
		assert.Contains(t, got, typ, "evidence of %s", rc.Service)
	}
}

func requireMessage(t *testing.T, rc RootCause, msg string) {
	t.Helper()
	assert.True(t, slices.ContainsFunc(rc.Evidence, func(e Evidence) bool { return e.Type == "error_message" && e.Message == msg }),
		"error message %q among the evidence of %s: %+v", msg, rc.Service, rc.Evidence)
}

// requireExemplars checks that the exemplar traces are stored traces, the first ones
// touching the root cause (a span of it, or a call to it).
func requireExemplars(t *testing.T, w *world, res Result, root string) {
	t.Helper()
	require.NotEmpty(t, res.ExemplarTraces, "exemplar traces\n%s", brief(res))
	for i, id := range res.ExemplarTraces {
		raw, err := hex.DecodeString(id)
		require.NoError(t, err)
		require.Len(t, raw, 16)
		td, err := w.spans.Trace(context.Background(), pcommon.TraceID(raw))
		require.NoError(t, err, "exemplar %s", id)
		if i == 0 {
			// A dead service called by address is root:port in the trace's own attributes.
			touches := false
			for n := range buildTree(id, td).targets() {
				touches = touches || n == root || strings.HasPrefix(n, root+":")
			}
			assert.True(t, touches, "exemplar %s touches %s", id, root)
		}
	}
}
