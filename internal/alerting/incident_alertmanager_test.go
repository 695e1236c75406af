package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const amtoolBin = "/usr/bin/amtool"

var exampleAlertmanagerConfig = filepath.Join("..", "..", "deploy", "alertmanager.example.yml")

// deploy/alertmanager.example.yml is a valid Alertmanager configuration (amtool, from the same
// Debian package as Alertmanager), and routes as its comments say.
func TestAlertmanagerExampleConfig(t *testing.T) {
	requireInstalled(t, amtoolBin)
	out, err := exec.Command(amtoolBin, "check-config", exampleAlertmanagerConfig).CombinedOutput()
	require.NoError(t, err, "amtool check-config:\n%s", out)
	require.Contains(t, string(out), "SUCCESS")

	for _, tc := range []struct {
		name     string
		labels   []string
		receiver string
	}{
		{"incident rooted in payments", []string{"alertname=FaultlineIncident", "incident_id=inc-1", "root_cause=payments", "incident_role=root_cause"}, "payments-oncall"},
		{"victim of it", []string{"alertname=FaultlineServiceErrorRate", "service=checkout", "incident_id=inc-1", "root_cause=payments", "incident_role=victim"}, "payments-oncall"},
		{"incident rooted in checkout", []string{"alertname=FaultlineIncident", "incident_id=inc-2", "root_cause=checkout"}, "checkout-oncall"},
		{"incident of a service without an owner", []string{"alertname=FaultlineIncident", "incident_id=inc-3", "root_cause=search"}, "incidents"},
		{"alert outside incidents", []string{"alertname=FaultlineServiceErrorRate", "service=payments"}, "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=" + exampleAlertmanagerConfig}, tc.labels...)
			out, err := exec.Command(amtoolBin, args...).Output()
			require.NoError(t, err)
			require.Equal(t, tc.receiver, strings.TrimSpace(string(out)))
		})
	}
}

// exampleAlertmanagerConfigFor is deploy/alertmanager.example.yml with its receivers pointed at
// receiverURL and its group timings shortened so that the test runs in seconds; routes and
// inhibit rules are the file's.
func exampleAlertmanagerConfigFor(t *testing.T, receiverURL string) string {
	t.Helper()
	b, err := os.ReadFile(exampleAlertmanagerConfig)
	require.NoError(t, err)
	s := string(b)
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{"http://127.0.0.1:9095/", receiverURL + "/", 4},
		{"group_wait: 30s", "group_wait: 1s", 1},
		{"group_interval: 5m", "group_interval: 1s", 1},
	} {
		require.Equal(t, r.n, strings.Count(s, r.old), "deploy/alertmanager.example.yml changed: update this test's rewrites (%q)", r.old)
		s = strings.ReplaceAll(s, r.old, r.new)
	}
	return s
}

// notificationRecorder is the receivers' webhook: Alertmanager's notifications by URL path
// (one path per receiver).
type notificationRecorder struct {
	srv  *httptest.Server
	mtx  sync.Mutex
	msgs map[string][]webhookMessage
}

func newNotificationRecorder(t *testing.T) *notificationRecorder {
	n := &notificationRecorder{msgs: map[string][]webhookMessage{}}
	n.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		n.mtx.Lock()
		n.msgs[r.URL.Path] = append(n.msgs[r.URL.Path], m)
		n.mtx.Unlock()
	}))
	t.Cleanup(n.srv.Close)
	return n
}

// alerts are the alerts notified to a receiver path, as alertname/service keys.
func (n *notificationRecorder) alerts(path string) []string {
	n.mtx.Lock()
	defer n.mtx.Unlock()
	var out []string
	for _, m := range n.msgs[path] {
		for _, a := range m.Alerts {
			if k := key(a.Labels); !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (n *notificationRecorder) paths() []string {
	n.mtx.Lock()
	defer n.mtx.Unlock()
	var out []string
	for p := range n.msgs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// key names an alert in this test: alertname/service.
func key(lset map[string]string) string { return lset["alertname"] + "/" + lset["service"] }

// amGroup is the part of Alertmanager's API v2 alertGroup the test looks at.
type amGroup struct {
	Labels   map[string]string `json:"labels"`
	Receiver struct {
		Name string `json:"name"`
	} `json:"receiver"`
	Alerts []amAlert `json:"alerts"`
}

// getAM decodes the JSON answer to GET base+path; an error (not a test failure) when it fails,
// for use inside EventuallyWithT.
func getAM(base, path string, v any) error {
	resp, err := http.Get(base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// appendNow writes v for each series, now, in one commit.
func (e *env) appendNow(t *testing.T, v float64, series ...labels.Labels) {
	t.Helper()
	app := e.db.Appender(context.Background())
	ts := time.Now().UnixMilli()
	for _, lset := range series {
		_, err := app.Append(0, lset, ts, v)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
}

// One alert rule standing for the services' own alerts.
const serviceBrokenRules = `groups:
  - name: test-services
    rules:
      - alert: TestServiceBroken
        expr: test_service_broken == 1
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.service }} is broken"
`

// End to end, with a real Alertmanager running deploy/alertmanager.example.yml: the RCA engine
// writes faultline_incident_active for an incident rooted in payments, and the default rule
// FaultlineIncident fires; then payments (the root cause), checkout and frontend (victims) and
// search (in no incident) fire their own alerts, labelled by the IncidentOf hook. Alertmanager
// must inhibit the victims by FaultlineIncident, group the incident's alerts into one group
// for the payments owner, and notify only FaultlineIncident and payments's alert there.
func TestIncidentAlertmanagerExample(t *testing.T) {
	rcv := newNotificationRecorder(t)
	am := startAlertmanagerWithConfig(t, exampleAlertmanagerConfigFor(t, rcv.srv.URL))

	e := newEnv(t)
	cfg := defaultConfig()
	cfg.RuleFiles = []string{filepath.Join("..", "..", "deploy", "rules", "services.yaml"), writeRules(t, serviceBrokenRules)}
	cfg.EvaluationInterval = 200 * time.Millisecond
	cfg.AlertmanagerURLs = []string{am}
	a := e.start(t, cfg, prometheus.NewRegistry())
	a.SetIncidentOf(inc42().of) // after Start

	const (
		deadline = 60 * time.Second
		tick     = 100 * time.Millisecond
	)
	// The RCA engine opens the incident, and FaultlineIncident reaches Alertmanager.
	e.appendNow(t, 1, labels.FromStrings(model.MetricNameLabel, "faultline_incident_active",
		LabelIncidentID, "inc-42", LabelRootCause, "payments", LabelRootCauseKind, "error"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var alerts []amAlert
		require.NoError(c, getAM(am, "/api/v2/alerts", &alerts))
		require.Len(c, alerts, 1)
		assert.Equal(c, "FaultlineIncident", alerts[0].Labels["alertname"])
	}, deadline, tick, "FaultlineIncident should reach Alertmanager")

	// The services' own alerts fire, all at the same evaluation: the payments notification
	// awaited below is then sent after the victims reached Alertmanager.
	var broken []labels.Labels
	for _, svc := range []string{"payments", "checkout", "frontend", "search"} {
		broken = append(broken, labels.FromStrings(model.MetricNameLabel, "test_service_broken", "service", svc))
	}
	e.appendNow(t, 1, broken...)

	incident, payments, search := "FaultlineIncident/", "TestServiceBroken/payments", "TestServiceBroken/search"
	victims := []string{"TestServiceBroken/checkout", "TestServiceBroken/frontend"}
	var byKey map[string]amAlert
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var alerts []amAlert
		require.NoError(c, getAM(am, "/api/v2/alerts", &alerts))
		byKey = map[string]amAlert{}
		for _, al := range alerts {
			byKey[key(al.Labels)] = al
		}
		require.Len(c, byKey, 5)
		fp := byKey[incident].Fingerprint
		require.NotEmpty(c, fp)
		for _, k := range victims {
			assert.Equal(c, "suppressed", byKey[k].Status.State, k)
			assert.Equal(c, []string{fp}, byKey[k].Status.InhibitedBy, k)
		}
		for _, k := range []string{incident, payments, search} {
			assert.Equal(c, "active", byKey[k].Status.State, k)
			assert.Empty(c, byKey[k].Status.InhibitedBy, k)
		}
	}, deadline, tick, "the victims should be inhibited by FaultlineIncident, and only them")

	// The labels as Alertmanager has them.
	incLabels := map[string]string{LabelIncidentID: "inc-42", LabelRootCause: "payments", LabelRootCauseKind: "error"}
	for k, role := range map[string]string{incident: RoleRootCause, payments: RoleRootCause, victims[0]: RoleVictim, victims[1]: RoleVictim} {
		for n, v := range incLabels {
			require.Equal(t, v, byKey[k].Labels[n], "%s: %s", k, n)
		}
		require.Equal(t, role, byKey[k].Labels[LabelIncidentRole], k)
	}
	require.Equal(t, "page", byKey[incident].Labels["severity"])
	require.Equal(t, "Incident inc-42: root cause payments (error)", byKey[incident].Annotations["summary"])
	require.Contains(t, byKey[incident].Annotations["description"], `incident_id="inc-42"`)
	require.Equal(t, incSummary, byKey[payments].Annotations[AnnotationIncident])
	require.Equal(t, incSummary, byKey[victims[0]].Annotations[AnnotationIncident])
	for _, n := range []string{LabelIncidentID, LabelRootCause, LabelRootCauseKind, LabelIncidentRole} {
		require.NotContains(t, byKey[search].Labels, n)
	}
	require.NotContains(t, byKey[search].Annotations, AnnotationIncident)

	// One group for the incident, for the payments owner; the unrelated alert on its own.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var groups []amGroup
		require.NoError(c, getAM(am, "/api/v2/alerts/groups", &groups))
		got := map[string][]string{} // receiver and group labels: alerts
		for _, g := range groups {
			id := g.Receiver.Name + " " + fmt.Sprint(g.Labels)
			for _, al := range g.Alerts {
				got[id] = append(got[id], key(al.Labels))
			}
			sort.Strings(got[id])
		}
		assert.Equal(c, map[string][]string{
			"payments-oncall map[incident_id:inc-42]":                 {incident, victims[0], victims[1], payments}, // sorted
			"default map[alertname:TestServiceBroken service:search]": {search},
		}, got)
	}, deadline, tick, "the incident's alerts should form one group")

	// Notifications: the payments owner gets FaultlineIncident and payments's own alert, never
	// the victims'; the unrelated alert goes to the default receiver.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, []string{incident, payments}, rcv.alerts("/payments"))
		assert.Equal(c, []string{search}, rcv.alerts("/default"))
	}, deadline, tick, "notifications")
	require.Equal(t, []string{"/default", "/payments"}, rcv.paths())

	// The rules manager's alerts are as the rule made them.
	for _, r := range a.Manager().AlertingRules() {
		for _, al := range r.ActiveAlerts() {
			require.False(t, al.Labels.Has(LabelIncidentRole), al.Labels.String())
			if r.Name() == "TestServiceBroken" {
				require.False(t, al.Labels.Has(LabelIncidentID), al.Labels.String())
				require.False(t, al.Annotations.Has(AnnotationIncident), al.Annotations.String())
			}
		}
	}
}
