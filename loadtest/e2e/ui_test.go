package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/faultline/faultline/internal/apptest"
	"github.com/faultline/faultline/loadtest/sim"
)

// xss is the hostile text sent as a service name, a span attribute and a log line: the UI must
// show it as text and run nothing (the browser script fails on any dialog).
const xss = `<img src=x onerror=alert(1)>`

// The web UI in Debian's Chromium (driven by playwright-core, ui/e2e/browser.mjs) against the
// real binary fed by the simulator while a database under a five-service chain fails: the
// topology marks the root cause, the incident lists it, a trace search finds an error trace
// whose timeline opens, logs link to their trace, and hostile names stay text. Screenshots
// of every page are saved under ui/test-results/e2e (or $FAULTLINE_TEST_ARTIFACTS).
func TestWebUIInChromium(t *testing.T) {
	node, script := browserTestTools(t)
	dir := t.TempDir()
	f := apptest.StartFaultline(t, faultlineBin, filepath.Join(dir, "data"),
		"-servicegraph.flush-interval=500ms", "-servicegraph.wait=2s", "-rules.evaluation-interval=1s",
		"-rca.step=1s", "-rca.baseline=2m", "-rca.evaluation-interval=1s", "-rca.evaluation-window=10s", "-rca.resolve-after=30s",
		"-agent.interval=2s")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	simCtx, stopSim := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := sim.Run(simCtx, sim.Options{Endpoint: f.GRPCAddr, Logs: true}, sim.Scenario{
			Name: "ui-chain5-db-errors", Topology: "chain5", Seed: 5, Rate: 20, Duration: 3 * time.Minute,
			Fault: sim.Fault{Kind: sim.FaultError, Target: "ledger-db", Start: 10 * time.Second, Duration: 170 * time.Second},
		})
		done <- err
	}()
	defer func() {
		stopSim()
		<-done
	}()
	hostileTrace := sendHostileTelemetry(t, f)

	var last incidentList
	defer func() {
		if t.Failed() {
			var rca, topo map[string]any
			getJSON(t, f, fmt.Sprintf("/api/v1/rca?start=%d", time.Now().Add(-time.Minute).Unix()), &rca)
			getJSON(t, f, fmt.Sprintf("/api/v1/topology?start=%d", time.Now().Add(-time.Minute).Unix()), &topo)
			t.Logf("incidents: %+v\nrca: %v\ntopology: %v", last, rca, topo)
			select {
			case err := <-done:
				t.Logf("the simulator stopped early: %v", err)
				done <- err
			default:
			}
		}
	}()
	apptest.WaitFor(t, 90*time.Second, func() bool {
		last = incidentList{}
		getJSON(t, f, "/api/v1/incidents", &last)
		return slices.ContainsFunc(last.Incidents, func(i incident) bool { return i.RootCause == "ledger-db" && i.Ongoing })
	}, "an ongoing incident rooted at ledger-db")

	artifacts := os.Getenv("FAULTLINE_TEST_ARTIFACTS")
	if artifacts == "" {
		var err error
		artifacts, err = filepath.Abs("../../ui/test-results/e2e")
		require.NoError(t, err)
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(),
		"FAULTLINE_URL=http://"+f.HTTPAddr,
		"ARTIFACTS="+artifacts,
		"ROOT_CAUSE=ledger-db",
		"SERVICES=frontend,orders,inventory,pricing,ledger,ledger-db",
		"HOSTILE="+xss,
		"HOSTILE_TRACE="+hostileTrace,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	require.NoError(t, err, "ui/e2e/browser.mjs failed; screenshots in %s", artifacts)
}

// browserTestTools finds Node.js, the browser script and Chromium; `make test` installs them.
func browserTestTools(t *testing.T) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	require.NoError(t, err, "Node.js is needed for the browser tests: run `make test` (or make ui-deps)")
	script, err = filepath.Abs("../../ui/e2e/browser.mjs")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(filepath.Dir(script), "..", "node_modules", "playwright-core"))
	require.NoError(t, err, "playwright-core is missing: run `make ui-deps`")
	_, err = os.Stat("/usr/bin/chromium")
	require.NoError(t, err, "Debian's chromium is missing: run `make test-deps`")
	return node, script
}

// sendHostileTelemetry sends, with the OpenTelemetry SDK, a trace from a service named like
// an HTML tag whose span attribute and exception carry markup, calling a dependency named the
// same way, and a log line with markup in that trace; it returns the trace ID.
func sendHostileTelemetry(t *testing.T, f *apptest.Faultline) string {
	t.Helper()
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", xss), attribute.String("host.name", "host-"+xss))
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(f.GRPCAddr), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(exp))
	defer func() { require.NoError(t, tp.Shutdown(ctx)) }()
	lexp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(f.GRPCAddr), otlploggrpc.WithInsecure())
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(lexp)))
	defer func() { require.NoError(t, lp.Shutdown(ctx)) }()

	tr := tp.Tracer("e2e/hostile")
	c, root := tr.Start(ctx, "GET /"+xss, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("note", `<script>alert(1)</script>`+xss), attribute.String(xss, "key too")))
	_, call := tr.Start(c, "call "+xss, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("peer.service", "dep-"+xss)))
	call.RecordError(fmt.Errorf("failed: %s", xss))
	call.SetStatus(codes.Error, xss)
	call.End()
	var rec otellog.Record
	rec.SetTimestamp(time.Now())
	rec.SetSeverity(otellog.SeverityError)
	rec.SetSeverityText("ERROR")
	rec.SetBody(attribute.StringValue("request failed: " + xss + ` <script>alert(1)</script>`))
	rec.AddAttributes(attribute.String("detail", xss))
	lp.Logger("e2e/hostile").Emit(c, rec)
	root.SetStatus(codes.Error, "failed")
	root.End()
	id := root.SpanContext().TraceID().String()

	apptest.WaitFor(t, 20*time.Second, func() bool {
		var l struct {
			Logs []struct{ Body string } `json:"logs"`
		}
		getJSON(t, f, "/api/v1/logs?trace_id="+id, &l)
		return len(l.Logs) == 1 && strings.Contains(l.Logs[0].Body, xss)
	}, "the hostile log line to be stored")
	return id
}
