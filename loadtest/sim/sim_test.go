package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The standard short timeline of the fault tests: 1.6 s at 40 req/s, the fault from 0.5 s
// to 1.2 s.
const (
	testRun        = 1600 * time.Millisecond
	testFaultStart = 500 * time.Millisecond
	testFaultLen   = 700 * time.Millisecond
	testRate       = 40
	edge           = 15 * time.Millisecond // boundary slack: requests in flight when the fault switches
)

type result struct {
	gt    GroundTruth
	spans tracetest.SpanStubs
}

func run(t *testing.T, opts Options, sc Scenario) result {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	opts.SpanExporter = exp
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	gt, err := Run(ctx, opts, sc)
	require.NoError(t, err)
	require.Less(t, time.Since(began), 10*time.Second, "run must be bounded")
	return result{gt: gt, spans: exp.GetSpans()}
}

func faultScenario(topo, kind, target string) Scenario {
	return Scenario{
		Topology: topo, Seed: 7, Rate: testRate, Duration: testRun,
		Fault: Fault{Kind: kind, Target: target, Start: testFaultStart, Duration: testFaultLen},
	}
}

func resAttr(s tracetest.SpanStub, key string) string {
	v, _ := s.Resource.Set().Value(attribute.Key(key))
	return v.String()
}

func spanAttr(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func peer(s tracetest.SpanStub) string {
	v, _ := spanAttr(s, "peer.service")
	return v.AsString()
}

func hasException(s tracetest.SpanStub) bool {
	for _, e := range s.Events {
		if e.Name == "exception" {
			var typ, msg bool
			for _, kv := range e.Attributes {
				typ = typ || kv.Key == "exception.type" && kv.Value.AsString() != ""
				msg = msg || kv.Key == "exception.message" && kv.Value.AsString() != ""
			}
			return typ && msg
		}
	}
	return false
}

type filter func(tracetest.SpanStub) bool

func (r result) find(fs ...filter) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range r.spans {
		ok := true
		for _, f := range fs {
			ok = ok && f(s)
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

func of(service string) filter {
	return func(s tracetest.SpanStub) bool { return resAttr(s, "service.name") == service }
}

func kind(k trace.SpanKind) filter {
	return func(s tracetest.SpanStub) bool { return s.SpanKind == k }
}

func to(p string) filter { return func(s tracetest.SpanStub) bool { return peer(s) == p } }

// startedIn keeps spans that started in [from, to].
func startedIn(from, to time.Time) filter {
	return func(s tracetest.SpanStub) bool { return !s.StartTime.Before(from) && !s.StartTime.After(to) }
}

func endedBefore(t time.Time) filter {
	return func(s tracetest.SpanStub) bool { return s.EndTime.Before(t) }
}

// inFault keeps spans that started well inside the fault window.
func (r result) inFault() filter {
	return startedIn(r.gt.FaultStart.Add(edge), r.gt.FaultEnd.Add(-edge))
}

// beforeFault keeps spans that ended before the fault.
func (r result) beforeFault() filter {
	return func(s tracetest.SpanStub) bool { return s.EndTime.Before(r.gt.FaultStart) }
}

func failed(s tracetest.SpanStub) bool { return s.Status.Code == codes.Error }

func errorType(s tracetest.SpanStub) string {
	v, _ := spanAttr(s, "error.type")
	return v.AsString()
}

func medianDuration(spans []tracetest.SpanStub) time.Duration {
	d := make([]time.Duration, len(spans))
	for i, s := range spans {
		d[i] = s.EndTime.Sub(s.StartTime)
	}
	slices.Sort(d)
	if len(d) == 0 {
		return 0
	}
	return d[len(d)/2]
}

func assertNoSpans(t *testing.T, spans []tracetest.SpanStub, msgAndArgs ...any) {
	t.Helper()
	if len(spans) > 0 {
		s := spans[0]
		assert.Fail(t, fmt.Sprintf("%d unexpected spans, e.g. %s %q of %s at %s: %s", len(spans), s.SpanKind,
			s.Name, resAttr(s, "service.name"), s.StartTime.Format("15:04:05.000"), s.Status.Description), msgAndArgs...)
	}
}

func requireSome(t *testing.T, spans []tracetest.SpanStub, what string) {
	t.Helper()
	require.NotEmpty(t, spans, "expected some %s", what)
}

func checkGroundTruth(t *testing.T, r result, sc Scenario) {
	t.Helper()
	gt := r.gt
	assert.Equal(t, sc.Fault.Target, gt.FaultyService)
	assert.Equal(t, sc.Fault.Kind, gt.Fault.Kind)
	assert.Equal(t, sc.Topology, gt.Topology.Name)
	require.False(t, gt.FaultStart.IsZero())
	assert.WithinDuration(t, gt.RunStart.Add(sc.Fault.Start), gt.FaultStart, 100*time.Millisecond)
	assert.WithinDuration(t, gt.FaultStart.Add(sc.Fault.Duration), gt.FaultEnd, 150*time.Millisecond)
	assert.True(t, gt.RunEnd.After(gt.FaultEnd))
	assert.Positive(t, gt.Requests)
	// Bounded count: the driver never sends more than the rate allows (jitter is ±30%).
	assert.LessOrEqual(t, float64(gt.Requests), sc.Rate*sc.Duration.Seconds()*1.5+2)
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		sc    Scenario
		check func(t *testing.T, r result)
	}{
		{
			name: "error",
			sc:   faultScenario("chain5", FaultError, "inventory"),
			check: func(t *testing.T, r result) {
				srv := r.find(of("inventory"), kind(trace.SpanKindServer), r.inFault())
				requireSome(t, srv, "inventory SERVER spans in the window")
				for _, s := range srv {
					assert.True(t, failed(s), "SERVER span in window should fail")
					assert.True(t, hasException(s), "SERVER span should carry an exception event")
				}
				assertNoSpans(t, r.find(of("inventory"), failed, r.beforeFault()), "no errors before the fault")
				cli := r.find(of("orders"), kind(trace.SpanKindClient), to("inventory"), r.inFault())
				requireSome(t, cli, "orders→inventory CLIENT spans")
				for _, s := range cli {
					assert.True(t, failed(s))
					assert.Equal(t, "500", errorType(s))
				}
				// Propagated upward: the entry fails too.
				for _, s := range r.find(of("frontend"), kind(trace.SpanKindServer), r.inFault()) {
					if s.EndTime.Before(r.gt.FaultEnd) {
						assert.True(t, failed(s), "frontend should fail while inventory fails")
					}
				}
				// Nothing below inventory is called during the window.
				assertNoSpans(t, r.find(of("pricing"), kind(trace.SpanKindServer), r.inFault()))
				// The errors start and stop with the ground truth.
				errs := r.find(of("inventory"), kind(trace.SpanKindServer), failed)
				first, last := errs[0].StartTime, errs[0].StartTime
				for _, s := range errs {
					first = minTime(first, s.StartTime)
					last = maxTime(last, s.StartTime)
				}
				assert.False(t, first.Before(r.gt.FaultStart))
				assert.Less(t, first.Sub(r.gt.FaultStart), 150*time.Millisecond)
				assert.False(t, last.After(r.gt.FaultEnd))
				assert.Less(t, r.gt.FaultEnd.Sub(last), 150*time.Millisecond)
				assert.Positive(t, r.gt.FailedEntries)
			},
		},
		{
			name: "latency",
			sc: func() Scenario {
				sc := faultScenario("chain5", FaultLatency, "pricing")
				sc.Fault.Latency = 800 * time.Millisecond
				return sc
			}(),
			check: func(t *testing.T, r result) {
				timeout := 600 * time.Millisecond // inventory→pricing in chain5
				cli := r.find(of("inventory"), kind(trace.SpanKindClient), to("pricing"), r.inFault())
				requireSome(t, cli, "inventory→pricing CLIENT spans")
				for _, s := range cli {
					if s.StartTime.After(r.gt.RunEnd.Add(-timeout - 50*time.Millisecond)) {
						continue // cut short by the end of the run
					}
					assert.True(t, failed(s))
					assert.Equal(t, errTimeout, errorType(s))
					d := s.EndTime.Sub(s.StartTime)
					// Cut at the caller's timeout, not waiting out the 800 ms the callee takes (the upper
					// bound leaves room for a loaded machine, e.g. under -race).
					assert.GreaterOrEqual(t, d, timeout-20*time.Millisecond, "CLIENT span lasts the timeout")
					assert.Less(t, d, 800*time.Millisecond, "the caller gave up before the callee answered")
				}
				srv := r.find(of("pricing"), kind(trace.SpanKindServer), r.inFault())
				requireSome(t, srv, "pricing SERVER spans")
				long := 0
				for _, s := range srv {
					if s.EndTime.Sub(s.StartTime) >= 800*time.Millisecond {
						long++
					}
				}
				assert.Positive(t, long, "pricing SERVER spans take the injected latency")
				assert.Less(t, medianDuration(r.find(of("pricing"), kind(trace.SpanKindServer), r.beforeFault())), 100*time.Millisecond)
				// Upstream sees an error (504), not a timeout, because timeouts shrink along the chain.
				for _, s := range r.find(of("orders"), kind(trace.SpanKindClient), to("inventory"), r.inFault()) {
					if s.StartTime.Before(r.gt.RunEnd.Add(-time.Second)) {
						assert.True(t, failed(s))
					}
				}
			},
		},
		{
			name: "down",
			sc:   faultScenario("chain5", FaultDown, "pricing"),
			check: func(t *testing.T, r result) {
				window := startedIn(r.gt.FaultStart, r.gt.FaultEnd)
				assertNoSpans(t, r.find(of("pricing"), window), "a down service sends nothing")
				for _, s := range r.find(of("pricing")) {
					ended := s.EndTime.After(r.gt.FaultStart) && s.EndTime.Before(r.gt.FaultEnd)
					assert.False(t, ended, "no span of pricing ends in the window")
				}
				cli := r.find(of("inventory"), kind(trace.SpanKindClient), to("pricing"), r.inFault())
				requireSome(t, cli, "inventory→pricing CLIENT spans")
				refused := 0
				for _, s := range cli {
					assert.True(t, failed(s))
					assert.True(t, hasException(s))
					if errorType(s) == errRefused {
						refused++
					}
				}
				assert.Greater(t, refused, len(cli)/2, "most calls are refused")
				after := r.find(of("pricing"), kind(trace.SpanKindServer), startedIn(r.gt.FaultEnd.Add(100*time.Millisecond), r.gt.RunEnd))
				assert.NotEmpty(t, after, "pricing comes back after the window")
				for _, s := range after {
					assert.False(t, failed(s))
				}
			},
		},
		{
			name: "cpu",
			sc:   faultScenario("chain5", FaultCPU, "ledger"),
			check: func(t *testing.T, r result) {
				before := medianDuration(r.find(of("ledger"), kind(trace.SpanKindServer), r.beforeFault()))
				during := medianDuration(r.find(of("ledger"), kind(trace.SpanKindServer), r.inFault()))
				t.Logf("ledger median before %v, during %v", before, during)
				assert.Greater(t, during, before+15*time.Millisecond)
			},
		},
		{
			name: "memory",
			sc:   faultScenario("chain5", FaultMemory, "ledger"),
			check: func(t *testing.T, r result) {
				before := medianDuration(r.find(of("ledger"), kind(trace.SpanKindServer), r.beforeFault()))
				during := medianDuration(r.find(of("ledger"), kind(trace.SpanKindServer), r.inFault()))
				t.Logf("ledger median before %v, during %v", before, during)
				assert.Greater(t, during, before+10*time.Millisecond)
				after := medianDuration(r.find(of("ledger"), kind(trace.SpanKindServer), startedIn(r.gt.FaultEnd.Add(edge), r.gt.RunEnd)))
				assert.Less(t, after, during, "recovers once the memory is freed")
			},
		},
		{
			name: "drop",
			sc:   faultScenario("chain5", FaultDrop, "pricing"),
			check: func(t *testing.T, r result) {
				assertNoSpans(t, r.find(of("pricing"), kind(trace.SpanKindServer), r.inFault()), "dropped requests have no SERVER span")
				cli := r.find(of("inventory"), kind(trace.SpanKindClient), to("pricing"), r.inFault())
				requireSome(t, cli, "inventory→pricing CLIENT spans")
				for _, s := range cli {
					assert.True(t, failed(s))
					assert.NotEqual(t, errTimeout, errorType(s))
				}
			},
		},
		{
			name: "retry storm",
			sc:   faultScenario("chain5", FaultRetryStorm, "inventory"),
			check: func(t *testing.T, r result) {
				ratio := func(window filter) float64 {
					srv := r.find(of("inventory"), kind(trace.SpanKindServer), window)
					cli := r.find(of("inventory"), kind(trace.SpanKindClient), window)
					require.NotEmpty(t, srv)
					return float64(len(cli)) / float64(len(srv))
				}
				before, during := ratio(r.beforeFault()), ratio(r.inFault())
				t.Logf("CLIENT per SERVER span: before %.2f, during %.2f", before, during)
				assert.InDelta(t, 1, before, 0.2)
				assert.GreaterOrEqual(t, during, 3*before)
				// The callee gets the multiplied load.
				calleeBefore := len(r.find(of("pricing"), kind(trace.SpanKindServer), r.beforeFault()))
				calleeDuring := len(r.find(of("pricing"), kind(trace.SpanKindServer), r.inFault()))
				assert.Greater(t, float64(calleeDuring)/testFaultLen.Seconds(), 2*float64(calleeBefore)/testFaultStart.Seconds())
			},
		},
		{
			name: "bad deploy",
			sc: func() Scenario {
				sc := faultScenario("shop", FaultBadDeploy, "cart")
				sc.Fault.Share = 0.5
				return sc
			}(),
			check: func(t *testing.T, r result) {
				var v2, v2srv, v2failed int
				for _, s := range r.find(of("cart")) {
					if resAttr(s, "service.version") != "2.0.0" {
						continue
					}
					v2++
					assert.False(t, s.StartTime.Before(r.gt.FaultStart), "2.0.0 only after the deploy")
					assert.False(t, s.StartTime.After(r.gt.FaultEnd), "2.0.0 only until the rollback")
					if s.SpanKind == trace.SpanKindServer {
						v2srv++
						if failed(s) {
							v2failed++
							assert.True(t, hasException(s))
						}
					}
				}
				require.Positive(t, v2srv)
				share := float64(v2failed) / float64(v2srv)
				t.Logf("2.0.0: %d spans, %d SERVER, %.2f failed", v2, v2srv, share)
				assert.InDelta(t, 0.5, share, 0.3)
				for _, s := range r.find(of("cart"), r.beforeFault()) {
					assert.Equal(t, "1.0.0", resAttr(s, "service.version"))
					assert.False(t, failed(s))
				}
				assertNoSpans(t, r.find(of("cart"), kind(trace.SpanKindServer), func(s tracetest.SpanStub) bool {
					return resAttr(s, "service.version") == "1.0.0"
				}, r.inFault()), "1.0.0 serves nothing while 2.0.0 is deployed")
			},
		},
		{
			name: "database error",
			sc:   faultScenario("shop", FaultError, "postgres"),
			check: func(t *testing.T, r result) {
				cli := r.find(of("catalog"), kind(trace.SpanKindClient), to("postgres"), r.inFault())
				requireSome(t, cli, "catalog→postgres CLIENT spans")
				for _, s := range cli {
					assert.True(t, failed(s))
					assert.True(t, hasException(s))
					v, _ := spanAttr(s, "db.system")
					assert.Equal(t, "postgresql", v.AsString())
					v, _ = spanAttr(s, "db.response.status_code")
					assert.Equal(t, "XX000", v.AsString())
				}
				for _, s := range r.find(of("catalog"), kind(trace.SpanKindServer), r.inFault()) {
					assert.True(t, failed(s))
				}
				assertNoSpans(t, r.find(failed, r.beforeFault()))
			},
		},
		{
			name: "cache latency",
			sc:   faultScenario("shop", FaultLatency, "redis"),
			check: func(t *testing.T, r result) {
				assert.Equal(t, 2*depTimeout, r.gt.Fault.Latency)
				cli := r.find(of("cart"), kind(trace.SpanKindClient), to("redis"), r.inFault())
				requireSome(t, cli, "cart→redis CLIENT spans")
				for _, s := range cli {
					assert.True(t, failed(s))
					assert.Equal(t, errTimeout, errorType(s))
					d := s.EndTime.Sub(s.StartTime)
					assert.GreaterOrEqual(t, d, depTimeout-20*time.Millisecond)
					assert.Less(t, d, r.gt.Fault.Latency, "cut at the timeout, not the injected latency")
					v, _ := spanAttr(s, "db.system")
					assert.Equal(t, "redis", v.AsString())
				}
			},
		},
		{
			name: "grpc error",
			sc:   faultScenario("shop", FaultError, "payment"),
			check: func(t *testing.T, r result) {
				srv := r.find(of("payment"), kind(trace.SpanKindServer), r.inFault())
				requireSome(t, srv, "payment SERVER spans")
				for _, s := range srv {
					assert.True(t, failed(s))
					v, _ := spanAttr(s, "rpc.system")
					assert.Equal(t, "grpc", v.AsString())
				}
				// Calls that ended while the fault was on: a call queued at payment's two work slots
				// may otherwise be served after the switch-off.
				for _, s := range r.find(of("checkout"), kind(trace.SpanKindClient), to("payment"), r.inFault(), endedBefore(r.gt.FaultEnd)) {
					assert.True(t, failed(s))
					assert.Equal(t, "Internal", errorType(s))
				}
				// The optional calls do not fail the frontend; checkout does.
				for _, s := range r.find(of("frontend"), kind(trace.SpanKindServer), r.inFault()) {
					if s.EndTime.Before(r.gt.FaultEnd) {
						assert.True(t, failed(s))
					}
				}
			},
		},
		{
			name: "grpc down",
			sc:   faultScenario("shop", FaultDown, "payment"),
			check: func(t *testing.T, r result) {
				assertNoSpans(t, r.find(of("payment"), startedIn(r.gt.FaultStart, r.gt.FaultEnd)), "a down service sends nothing")
				cli := r.find(of("checkout"), kind(trace.SpanKindClient), to("payment"), r.inFault())
				requireSome(t, cli, "checkout→payment CLIENT spans")
				for _, s := range cli {
					assert.True(t, failed(s))
					assert.Contains(t, []string{errRefused, "Unavailable"}, errorType(s))
				}
				assert.NotEmpty(t, r.find(of("payment"), kind(trace.SpanKindServer), startedIn(r.gt.FaultEnd.Add(100*time.Millisecond), r.gt.RunEnd)),
					"payment is back on the same port after the window")
			},
		},
		{
			name: "none",
			sc: Scenario{
				Topology: "shop", Seed: 3, Rate: testRate, Duration: time.Second,
			},
			check: func(t *testing.T, r result) {
				assert.NotEmpty(t, r.spans)
				assertNoSpans(t, r.find(failed), "no Error spans without a fault")
				assert.Empty(t, r.gt.FaultyService)
				assert.True(t, r.gt.FaultStart.IsZero())
				assert.Zero(t, r.gt.FailedEntries)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, Options{}, tc.sc)
			if tc.sc.Fault.Kind != "" && tc.sc.Fault.Kind != FaultNone {
				checkGroundTruth(t, r, tc.sc)
			}
			tc.check(t, r)
		})
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestTopologies runs each topology without a fault and checks that every node and every
// edge it describes is what the spans show.
func TestTopologies(t *testing.T) {
	require.Equal(t, []string{"chain5", "fanout40", "shop"}, Topologies())
	for _, name := range Topologies() {
		t.Run(name, func(t *testing.T) {
			info, err := Describe(name)
			require.NoError(t, err)
			r := run(t, Options{}, Scenario{Topology: name, Seed: 1, Rate: 20, Duration: 700 * time.Millisecond})

			services := map[string]bool{}
			hosts := map[string]string{}
			for _, s := range r.spans {
				services[resAttr(s, "service.name")] = true
				hosts[resAttr(s, "service.name")] = resAttr(s, "host.name")
				assert.Equal(t, "1.0.0", resAttr(s, "service.version"))
				assert.NotEmpty(t, resAttr(s, "service.instance.id"))
			}
			byID := map[trace.SpanID]tracetest.SpanStub{}
			for _, s := range r.spans {
				byID[s.SpanContext.SpanID()] = s
			}
			observed := map[Edge]bool{}
			for _, s := range r.spans {
				if s.SpanKind == trace.SpanKindClient {
					observed[Edge{resAttr(s, "service.name"), peer(s)}] = true
				}
				if s.SpanKind == trace.SpanKindServer && s.Parent.IsValid() {
					p, ok := byID[s.Parent.SpanID()]
					if assert.True(t, ok, "SERVER span's parent exported") {
						assert.Equal(t, trace.SpanKindClient, p.SpanKind)
						assert.Equal(t, s.SpanContext.TraceID(), p.SpanContext.TraceID())
						observed[Edge{resAttr(p, "service.name"), resAttr(s, "service.name")}] = true
					}
				}
			}
			peers := map[string]bool{}
			for e := range observed {
				peers[e.Callee] = true
			}
			grpcSeen := false
			for _, n := range info.Nodes {
				if n.Kind == KindService {
					assert.True(t, services[n.Name], "service %s sends spans", n.Name)
					assert.Equal(t, n.Host, hosts[n.Name])
					assert.True(t, strings.HasPrefix(n.Host, "sim-host-"))
					grpcSeen = grpcSeen || n.GRPC
				} else {
					assert.True(t, peers[n.Name], "dependency %s seen via peer.service", n.Name)
					assert.False(t, services[n.Name], "dependency %s sends no spans", n.Name)
				}
			}
			if name != "chain5" {
				assert.True(t, grpcSeen, "at least one gRPC service")
			}
			want := map[Edge]bool{}
			for _, e := range info.Edges {
				want[e] = true
			}
			assert.Equal(t, sortedEdges(want), sortedEdges(observed))
			assertNoSpans(t, r.find(failed))
		})
	}
}

func sortedEdges(m map[Edge]bool) []string {
	var out []string
	for e := range m {
		out = append(out, e.Caller+"→"+e.Callee)
	}
	sort.Strings(out)
	return out
}

func TestDescribe(t *testing.T) {
	shop, err := Describe("shop")
	require.NoError(t, err)
	kinds := map[string]string{}
	for _, n := range shop.Nodes {
		kinds[n.Name] = n.Kind
	}
	assert.Equal(t, KindDatabase, kinds["postgres"])
	assert.Equal(t, KindCache, kinds["redis"])
	assert.Equal(t, KindExternal, kinds["payment-gateway"])
	for _, s := range []string{"frontend", "catalog", "cart", "checkout", "payment", "shipping", "currency", "email", "recommendation", "ad"} {
		assert.Equal(t, KindService, kinds[s], s)
	}
	f40, err := Describe("fanout40")
	require.NoError(t, err)
	n := 0
	for _, node := range f40.Nodes {
		if node.Kind == KindService {
			n++
		}
	}
	assert.Equal(t, 40, n)
	c5, err := Describe("chain5")
	require.NoError(t, err)
	assert.Len(t, c5.Nodes, 6)
	_, err = Describe("nope")
	require.ErrorContains(t, err, `"nope"`)
}

func TestValidate(t *testing.T) {
	ok := faultScenario("shop", FaultLatency, "payment")
	require.NoError(t, Validate(ok))
	tests := []struct {
		name string
		mod  func(*Scenario)
		want string
	}{
		{"unknown topology", func(s *Scenario) { s.Topology = "mesh99" }, `"mesh99"`},
		{"unknown kind", func(s *Scenario) { s.Fault.Kind = "meteor" }, `"meteor"`},
		{"unknown target", func(s *Scenario) { s.Fault.Target = "billing" }, `"billing"`},
		{"missing target", func(s *Scenario) { s.Fault.Target = "" }, "needs a target"},
		{"none with target", func(s *Scenario) { s.Fault.Kind = FaultNone }, "takes no target"},
		{"cpu on a dependency", func(s *Scenario) { s.Fault.Kind = FaultCPU; s.Fault.Target = "redis" }, "cannot target dependency"},
		{"retry storm on a leaf", func(s *Scenario) { s.Fault.Kind = FaultRetryStorm; s.Fault.Target = "email" }, "calls nothing"},
		{"share above 1", func(s *Scenario) { s.Fault.Share = 1.5 }, "share"},
		{"negative share", func(s *Scenario) { s.Fault.Share = -0.1 }, "share"},
		{"negative start", func(s *Scenario) { s.Fault.Start = -time.Second }, "negative"},
		{"too long", func(s *Scenario) { s.Duration = 11 * time.Minute }, "maximum"},
		{"fault past the end", func(s *Scenario) { s.Duration = time.Second }, "after the run's end"},
		{"rate too high", func(s *Scenario) { s.Rate = 1e6 }, "rate"},
		{"latency too high", func(s *Scenario) { s.Fault.Latency = time.Hour }, "latency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := ok
			tc.mod(&sc)
			err := Validate(sc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, err = Run(context.Background(), Options{SpanExporter: tracetest.NewNoopExporter()}, sc)
			require.Error(t, err, "Run validates too")
		})
	}
	// Defaults.
	sc, _, err := prepare(Scenario{Topology: "chain5", Fault: Fault{Kind: FaultLatency, Target: "ledger-db", Start: time.Second}})
	require.NoError(t, err)
	assert.Equal(t, DefaultRate, sc.Rate)
	assert.Equal(t, 1.0, sc.Fault.Share)
	assert.Equal(t, DefaultFaultDuration, sc.Fault.Duration)
	assert.Equal(t, time.Second+DefaultFaultDuration+DefaultRunTail, sc.Duration)
	assert.Equal(t, 2*DefaultCallTimeout, sc.Fault.Latency)
}

func TestEndpointMustBeLoopback(t *testing.T) {
	sc := Scenario{Topology: "chain5", Duration: time.Second}
	for _, ep := range []string{"10.1.2.3:4317", "example.com:4317", "[2001:db8::1]:4317", "0.0.0.0:4317", "faultline"} {
		t.Run(ep, func(t *testing.T) {
			_, err := Run(context.Background(), Options{Endpoint: ep}, sc)
			require.Error(t, err)
			if ep != "faultline" {
				assert.True(t, errors.Is(err, ErrEndpointNotLoopback), "%v", err)
			}
		})
	}
	for _, ep := range []string{"127.0.0.1:4317", "[::1]:4317", "localhost:4317", "127.1.2.3:4317"} {
		_, err := checkLoopback(ep)
		assert.NoError(t, err, ep)
	}
	var stderr bytes.Buffer
	code := Main(context.Background(), []string{"-otlp.endpoint=192.168.1.1:4317", "-duration=1s"}, &bytes.Buffer{}, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "loopback")
}

// TestTimeScale runs a one-minute scenario in a sixth of the time.
func TestTimeScale(t *testing.T) {
	sc := Scenario{
		Topology: "chain5", Seed: 2, Rate: 2, Duration: 9 * time.Second,
		Fault: Fault{Kind: FaultError, Target: "ledger-db", Start: 3 * time.Second, Duration: 3 * time.Second},
	}
	r := run(t, Options{TimeScale: 0.2}, sc)
	assert.Equal(t, 0.2, r.gt.TimeScale)
	assert.Equal(t, 3*time.Second, r.gt.Fault.Duration, "the ground truth keeps the asked timeline")
	// Scaled times, with room for a loaded machine; unscaled they would be 3 s, 3 s and 9 s.
	assert.InDelta(t, 0.6, r.gt.FaultEnd.Sub(r.gt.FaultStart).Seconds(), 0.25)
	assert.InDelta(t, 0.6, r.gt.FaultStart.Sub(r.gt.RunStart).Seconds(), 0.25)
	assert.InDelta(t, 1.8, r.gt.RunEnd.Sub(r.gt.RunStart).Seconds(), 0.5)
}

// memLogs is an in-memory log exporter.
type memLogs struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (m *memLogs) Export(_ context.Context, rs []sdklog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		m.records = append(m.records, r.Clone())
	}
	return nil
}
func (*memLogs) Shutdown(context.Context) error   { return nil }
func (*memLogs) ForceFlush(context.Context) error { return nil }

func TestLogs(t *testing.T) {
	logs := &memLogs{}
	sc := faultScenario("chain5", FaultError, "ledger-db")
	r := run(t, Options{Logs: true, LogExporter: logs}, sc)
	spans := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range r.spans {
		spans[s.SpanContext.SpanID()] = s
	}
	var info, errs int
	for _, rec := range logs.records {
		require.True(t, rec.TraceID().IsValid())
		s, ok := spans[rec.SpanID()]
		require.True(t, ok, "log points at an exported span")
		assert.Equal(t, s.SpanContext.TraceID(), rec.TraceID())
		assert.Equal(t, resAttr(s, "service.name"), resAttrOf(rec, "service.name"))
		switch rec.SeverityText() {
		case "INFO":
			info++
		case "ERROR":
			errs++
			assert.True(t, failed(s))
		}
	}
	assert.Positive(t, info)
	assert.Positive(t, errs)
}

func resAttrOf(rec sdklog.Record, key string) string {
	v, _ := rec.Resource().Set().Value(attribute.Key(key))
	return v.String()
}

func TestMainCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, Main(context.Background(), []string{"-list"}, &out, &errOut))
	var l struct {
		Topologies []TopologyInfo `json:"topologies"`
		FaultKinds []string       `json:"fault_kinds"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &l))
	assert.Len(t, l.Topologies, 3)
	assert.Equal(t, FaultKinds, l.FaultKinds)

	for _, args := range [][]string{
		{"-nope"},
		{"-topology=mesh"},
		{"-fault=latency"},
		{"-fault=latency", "-target=payment", "-fault.share=2"},
		{"extra"},
	} {
		errOut.Reset()
		assert.Equal(t, 2, Main(context.Background(), args, &out, &errOut), "%v", args)
		assert.NotEmpty(t, errOut.String())
	}
}
