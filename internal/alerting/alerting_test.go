package alerting

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/faultline/faultline/internal/metricstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of http.DefaultTransport-like clients outlive the tests
		// by design; they are closed by the runtime, not leaked per request.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

func TestFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	require.Equal(t, 15*time.Second, c.EvaluationInterval)
	require.Equal(t, "http://localhost:7070", c.ExternalURL)
	require.Empty(t, c.RuleFiles)
	require.NoError(t, fs.Parse([]string{
		"-rules.files=a/*.yaml, b.yaml", "-rules.files=c.yml",
		"-alertmanager.url=http://127.0.0.1:9093,http://127.0.0.1:9094", "-alertmanager.url=https://am.example/prefix",
		"-rules.evaluation-interval=5s",
	}))
	require.Equal(t, []string{"a/*.yaml", "b.yaml", "c.yml"}, c.RuleFiles)
	require.Equal(t, []string{"http://127.0.0.1:9093", "http://127.0.0.1:9094", "https://am.example/prefix"}, c.AlertmanagerURLs)
	require.Equal(t, 5*time.Second, c.EvaluationInterval)
}

func defaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("t", flag.ContinueOnError))
	return c
}

func TestValidate(t *testing.T) {
	c := defaultConfig()
	require.NoError(t, c.Validate())

	c.AlertmanagerURLs = []string{"127.0.0.1:9093"}
	c.WebhookURL = "ftp://x"
	c.RuleFiles = []string{"[bad"}
	err := c.Validate()
	require.ErrorContains(t, err, "alertmanager.url")
	require.ErrorContains(t, err, "webhook_url")
	require.ErrorContains(t, err, `pattern "[bad"`)
}

// (a) The default rules load as the rules manager loads them, and follow the conventions:
// every alert has summary and description, and names a service or a host (FaultlineIncident:
// the root-cause service).
func TestDefaultRules(t *testing.T) {
	files, err := defaultRuleFiles()
	require.NoError(t, err)
	require.NotEmpty(t, files)
	require.NoError(t, checkRuleFiles(files))

	l := newGroupLoader(nil)
	alerts := 0
	for _, f := range files {
		rgs, errs := l.Load(f, false, model.UTF8Validation)
		require.Empty(t, errs)
		for _, g := range rgs.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					require.True(t, strings.HasPrefix(r.Record, "faultline:"), r.Record)
					continue
				}
				alerts++
				require.NotEmpty(t, r.Annotations["summary"], r.Alert)
				require.NotEmpty(t, r.Annotations["description"], r.Alert)
				require.Contains(t, []string{"page", "warning"}, r.Labels["severity"], r.Alert)
				s := r.Annotations["summary"]
				if r.Alert == "FaultlineIncident" {
					require.Contains(t, s, "$labels.root_cause", r.Alert)
					require.Contains(t, r.Expr, "faultline_incident_active", r.Alert)
					continue
				}
				require.True(t, strings.Contains(s, "$labels.service") || strings.Contains(s, "$labels.host_name"), r.Alert)
				require.True(t, strings.Contains(r.Expr, "service") || strings.Contains(r.Expr, "host_"), r.Alert)
			}
		}
	}
	require.GreaterOrEqual(t, alerts, 8)
}

// deploy/rules/ is the documented copy of the embedded defaults.
func TestDeployRulesMatchDefaults(t *testing.T) {
	want, err := DefaultRules()
	require.NoError(t, err)
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join("..", "..", "deploy", "rules", name))
		require.NoError(t, err, "deploy/rules/%s must be a copy of internal/alerting/defaultrules/%s", name, name)
		require.Equal(t, string(b), string(got), "deploy/rules/%s differs from internal/alerting/defaultrules/%s", name, name)
	}
}

const brokenRules = `groups:
  - name: broken
    rules:
      - alert: BrokenAlert
        expr: sum(rate(faultline_service_requests_total[5m]) > 
        annotations:
          summary: x
`

// (a) A broken file is an error that names it and the rule.
func TestValidateNamesBrokenFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(good, []byte(testRules), 0o600))
	require.NoError(t, os.WriteFile(bad, []byte(brokenRules), 0o600))

	c := defaultConfig()
	c.RuleFiles = []string{filepath.Join(dir, "*.yaml")}
	err := c.Validate()
	require.Error(t, err)
	require.ErrorContains(t, err, bad)
	require.ErrorContains(t, err, "BrokenAlert")
	require.NotContains(t, err.Error(), good)
}

// The test rules: a recording rule (written through the Appendable) and an alert on it, over
// 2s windows so that the test runs in seconds.
const testRules = `groups:
  - name: test
    rules:
      - record: test:service_error_rate:2s
        expr: |
          sum by (service) (rate(faultline_service_errors_total[2s]))
            /
          sum by (service) (rate(faultline_service_requests_total[2s]))
      - alert: TestServiceErrorRate
        expr: test:service_error_rate:2s > 0.05
        for: 1500ms
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.service }}: {{ $value | humanizePercentage }} of requests fail"
          description: "More than 5% of {{ $labels.service }}'s requests fail."
`

// env is a TSDB with a PromQL engine and a writer of RED series for service "checkout".
type env struct {
	db     *tsdb.DB
	engine *promql.Engine

	mtx     sync.Mutex
	failing bool
	stop    chan struct{}
	done    chan struct{}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	require.NoError(t, err)
	e := &env{
		db: db,
		engine: promql.NewEngine(promql.EngineOpts{
			MaxSamples: 1e6, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute,
		}),
		failing: true,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go e.write()
	t.Cleanup(func() {
		close(e.stop)
		<-e.done
		require.NoError(t, db.Close())
	})
	return e
}

// write appends 10 requests per 100ms, half of them errors while failing.
func (e *env) write() {
	defer close(e.done)
	lset := func(name string) labels.Labels {
		return labels.FromStrings("__name__", name, metricstore.LabelService, "checkout",
			metricstore.LabelOperation, "POST /pay", metricstore.LabelSpanKind, "server")
	}
	reqs, errs := lset(metricstore.ServiceRequests), lset(metricstore.ServiceErrors)
	var nreq, nerr float64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case now := <-tick.C:
			e.mtx.Lock()
			nreq += 10
			if e.failing {
				nerr += 5
			}
			e.mtx.Unlock()
			app := e.db.Appender(context.Background())
			ts := now.UnixMilli()
			_, _ = app.Append(0, reqs, ts, nreq)
			_, _ = app.Append(0, errs, ts, nerr)
			_ = app.Commit()
		}
	}
}

func (e *env) setFailing(v bool) {
	e.mtx.Lock()
	e.failing = v
	e.mtx.Unlock()
}

func writeRules(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(f, []byte(content), 0o600))
	return f
}

func (e *env) start(t *testing.T, cfg Config, reg prometheus.Registerer) *Alerting {
	t.Helper()
	a, err := New(cfg, e.db, e.db, e.engine, nil, reg)
	require.NoError(t, err)
	require.NoError(t, a.Start(context.Background()))
	t.Cleanup(a.Stop)
	return a
}

func alertState(a *Alerting, name string) (rules.AlertState, int) {
	for _, r := range a.Manager().AlertingRules() {
		if r.Name() == name {
			return r.State(), len(r.ActiveAlerts())
		}
	}
	return rules.StateUnknown, -1
}

type webhookRecorder struct {
	srv  *httptest.Server
	mtx  sync.Mutex
	msgs []webhookMessage
}

func newWebhookRecorder(t *testing.T) *webhookRecorder {
	w := &webhookRecorder{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(rw, "bad request", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mtx.Lock()
		w.msgs = append(w.msgs, m)
		w.mtx.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookRecorder) find(status string) *webhookMessage {
	w.mtx.Lock()
	defer w.mtx.Unlock()
	for i := range w.msgs {
		if w.msgs[i].Status == status {
			return &w.msgs[i]
		}
	}
	return nil
}

// (b) and (d): a 50% error rate makes the alert pending, then firing; the webhook receives it
// firing; when the errors stop the alert resolves and the webhook receives that too.
func TestAlertLifecycleAndWebhook(t *testing.T) {
	e := newEnv(t)
	hook := newWebhookRecorder(t)
	cfg := defaultConfig()
	cfg.RuleFiles = []string{writeRules(t, testRules)}
	cfg.EvaluationInterval = 200 * time.Millisecond
	cfg.WebhookURL = hook.srv.URL
	reg := prometheus.NewRegistry()
	a := e.start(t, cfg, reg)

	const name = "TestServiceErrorRate"
	sawPending := false
	require.Eventually(t, func() bool {
		st, _ := alertState(a, name)
		sawPending = sawPending || st == rules.StatePending
		return st == rules.StateFiring
	}, 30*time.Second, 20*time.Millisecond)
	require.True(t, sawPending, "the alert should be pending before it fires (for: 1500ms)")

	// The recording rule wrote its series through the Appendable.
	q, err := e.engine.NewInstantQuery(context.Background(), e.db, nil, `test:service_error_rate:2s{service="checkout"}`, time.Now())
	require.NoError(t, err)
	res := q.Exec(context.Background())
	require.NoError(t, res.Err)
	vec, err := res.Vector()
	require.NoError(t, err)
	require.Len(t, vec, 1)
	require.InDelta(t, 0.5, vec[0].F, 0.2)
	q.Close()

	var firing *webhookMessage
	require.Eventually(t, func() bool { firing = hook.find(statusFiring); return firing != nil }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "4", firing.Version)
	require.Len(t, firing.Alerts, 1)
	fa := firing.Alerts[0]
	require.Equal(t, statusFiring, fa.Status)
	require.Equal(t, name, fa.Labels["alertname"])
	require.Equal(t, "checkout", fa.Labels["service"])
	require.Equal(t, "page", fa.Labels["severity"])
	require.Contains(t, fa.Annotations["summary"], "checkout: ")
	require.NotEmpty(t, fa.Annotations["description"])
	require.False(t, fa.StartsAt.IsZero())
	require.True(t, fa.EndsAt.IsZero())
	require.True(t, strings.HasPrefix(fa.GeneratorURL, "http://localhost:7070/graph?g0.expr="), fa.GeneratorURL)
	require.Equal(t, name, firing.GroupLabels["alertname"])

	e.setFailing(false)
	require.Eventually(t, func() bool {
		st, _ := alertState(a, name)
		return st == rules.StateInactive
	}, 30*time.Second, 20*time.Millisecond)

	var resolved *webhookMessage
	require.Eventually(t, func() bool { resolved = hook.find(statusResolved); return resolved != nil }, 10*time.Second, 20*time.Millisecond)
	require.Len(t, resolved.Alerts, 1)
	require.Equal(t, statusResolved, resolved.Alerts[0].Status)
	require.Equal(t, "checkout", resolved.Alerts[0].Labels["service"])
	require.False(t, resolved.Alerts[0].EndsAt.IsZero())
	require.False(t, resolved.Alerts[0].EndsAt.After(time.Now()))

	// The sender counts a send once the POST has returned, just after the recorder stored it.
	require.Eventually(t, func() bool { return testutil.ToFloat64(a.webhook.sent) >= 2 }, 5*time.Second, 10*time.Millisecond,
		"sent: %v", testutil.ToFloat64(a.webhook.sent))
	require.Zero(t, testutil.ToFloat64(a.webhook.dropped))
	require.Zero(t, testutil.ToFloat64(a.webhook.failed))
}

// (e) Reload keeps the running rules when a file is broken, and the error names it.
func TestReloadKeepsRulesOnBadFile(t *testing.T) {
	e := newEnv(t)
	f := writeRules(t, testRules)
	cfg := defaultConfig()
	cfg.RuleFiles = []string{f}
	a := e.start(t, cfg, prometheus.NewRegistry())
	require.Len(t, a.Manager().Rules(), 2)

	require.NoError(t, os.WriteFile(f, []byte(brokenRules), 0o600))
	err := a.Reload()
	require.ErrorContains(t, err, f)
	require.ErrorContains(t, err, "BrokenAlert")
	names := []string{}
	for _, r := range a.Manager().Rules() {
		names = append(names, r.Name())
	}
	require.ElementsMatch(t, []string{"test:service_error_rate:2s", "TestServiceErrorRate"}, names)

	require.NoError(t, os.WriteFile(f, []byte(strings.ReplaceAll(testRules, "TestServiceErrorRate", "Renamed")), 0o600))
	require.NoError(t, a.Reload())
	st, n := alertState(a, "Renamed")
	require.Zero(t, n, "the renamed rule is loaded, with no alerts yet")
	require.Contains(t, []rules.AlertState{rules.StateUnknown, rules.StateInactive}, st)
}

// The embedded defaults run when no files are given.
func TestStartWithDefaults(t *testing.T) {
	e := newEnv(t)
	a := e.start(t, defaultConfig(), prometheus.NewRegistry())
	require.GreaterOrEqual(t, len(a.Manager().AlertingRules()), 8)
	for _, g := range a.Manager().RuleGroups() {
		require.True(t, strings.HasPrefix(g.File(), embeddedPrefix), g.File())
	}

	cfg := defaultConfig()
	cfg.DisableDefaultRules = true
	b := e.start(t, cfg, prometheus.NewRegistry())
	require.Empty(t, b.Manager().Rules())
}

// A receiver that does not answer does not hold up the rules: messages beyond the queue are
// dropped and counted, and Stop still returns.
func TestWebhookQueueFullDrops(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)

	w := newWebhookSender(srv.URL, "http://localhost:7070", discardLogger(), prometheus.NewRegistry())
	w.queue = make(chan *webhookMessage, 2)
	w.client.Timeout = 200 * time.Millisecond
	w.attempts, w.backoff, w.drainFor = 2, 10*time.Millisecond, 200*time.Millisecond
	w.start()
	alert := &rules.Alert{State: rules.StateFiring, Labels: labels.FromStrings("alertname", "A"), FiredAt: time.Now()}
	start := time.Now()
	for range 10 {
		w.enqueue("up == 0", []*rules.Alert{alert})
	}
	require.Less(t, time.Since(start), 100*time.Millisecond, "enqueue must not block")
	require.GreaterOrEqual(t, testutil.ToFloat64(w.dropped), 7.0)
	w.stop(true)
	require.Zero(t, testutil.ToFloat64(w.sent))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
