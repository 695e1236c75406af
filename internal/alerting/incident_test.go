package alerting

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
	"github.com/stretchr/testify/require"
)

// incidents is an IncidentOf over a fixed map from service to incident, changeable by tests.
type incidents struct {
	mtx       sync.Mutex
	byService map[string]IncidentInfo
}

func (s *incidents) set(service string, inc IncidentInfo) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	if s.byService == nil {
		s.byService = map[string]IncidentInfo{}
	}
	s.byService[service] = inc
}

func (s *incidents) clear(service string) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	delete(s.byService, service)
}

func (s *incidents) of(lset labels.Labels) (IncidentInfo, bool) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	inc, ok := s.byService[lset.Get("service")]
	return inc, ok
}

const incSummary = "payments fails since 10:02 UTC; checkout and frontend are affected"

// inc42 is an incident rooted in payments that spread to checkout and frontend. Roles are left
// to the labeller for payments (its service is the root cause) and checkout, and given for
// frontend.
func inc42() *incidents {
	s := &incidents{}
	base := IncidentInfo{ID: "inc-42", RootCause: "payments", RootCauseKind: "error", Summary: incSummary}
	s.set("payments", base)
	s.set("checkout", base)
	frontend := base
	frontend.Role = RoleVictim
	s.set("frontend", frontend)
	return s
}

func firingAlert(name string, kv ...string) *rules.Alert {
	now := time.Now()
	return &rules.Alert{
		State:       rules.StateFiring,
		Labels:      labels.FromStrings(append([]string{"alertname", name, "severity", "page"}, kv...)...),
		Annotations: labels.FromStrings("summary", name+" fires"),
		ActiveAt:    now.Add(-time.Minute),
		FiredAt:     now,
		ValidUntil:  now.Add(4 * time.Minute),
	}
}

// snapshot is what the rules manager owns of an alert, to check that sending left it alone.
type snapshot struct{ labels, annotations labels.Labels }

func snap(alerts ...*rules.Alert) []snapshot {
	out := make([]snapshot, len(alerts))
	for i, a := range alerts {
		out[i] = snapshot{a.Labels.Copy(), a.Annotations.Copy()}
	}
	return out
}

// The hook's labels and annotation reach the webhook on copies: the rules manager's alerts are
// unchanged, an alert outside the incident goes out as it is, and an alert that comes with its
// incident (FaultlineIncident) only gains its role.
func TestIncidentLabelsWebhook(t *testing.T) {
	e := newEnv(t)
	hook := newWebhookRecorder(t)
	cfg := defaultConfig()
	cfg.DisableDefaultRules = true
	cfg.WebhookURL = hook.srv.URL
	a, err := New(cfg, e.db, e.db, e.engine, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	a.SetIncidentOf(inc42().of) // before Start
	require.NoError(t, a.Start(context.Background()))
	t.Cleanup(a.Stop)

	incidentLabels := func(role string) map[string]string {
		return map[string]string{LabelIncidentID: "inc-42", LabelRootCause: "payments", LabelRootCauseKind: "error", LabelIncidentRole: role}
	}
	summary := map[string]string{AnnotationIncident: incSummary}
	cases := []struct {
		name           string
		alert          *rules.Alert
		addLabels      map[string]string
		addAnnotations map[string]string
	}{
		{"root cause", firingAlert("ServiceErrors", "service", "payments"), incidentLabels(RoleRootCause), summary},
		{"victim", firingAlert("ServiceErrors", "service", "checkout"), incidentLabels(RoleVictim), summary},
		{"victim, role from the hook", firingAlert("ServiceLatency", "service", "frontend"), incidentLabels(RoleVictim), summary},
		{"no incident", firingAlert("ServiceErrors", "service", "search"), nil, nil},
		{
			name:      "comes with its incident",
			alert:     firingAlert("FaultlineIncident", LabelIncidentID, "inc-42", LabelRootCause, "payments", LabelRootCauseKind, "error"),
			addLabels: map[string]string{LabelIncidentRole: RoleRootCause},
		},
		{"comes with its incident and role", firingAlert("Custom", "service", "checkout", LabelIncidentID, "inc-7", LabelIncidentRole, RoleVictim), nil, nil},
	}
	alerts := make([]*rules.Alert, len(cases))
	for i, tc := range cases {
		alerts[i] = tc.alert
	}
	before := snap(alerts...)
	a.notify(context.Background(), "up == 0", alerts...)
	require.Equal(t, before, snap(alerts...), "the rules manager's alerts must not change")

	var msg *webhookMessage
	require.Eventually(t, func() bool { msg = hook.find(statusFiring); return msg != nil }, 10*time.Second, 10*time.Millisecond)
	require.Len(t, msg.Alerts, len(alerts), "one webhook alert per rule alert, in order")
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantL, wantA := tc.alert.Labels.Map(), tc.alert.Annotations.Map()
			for k, v := range tc.addLabels {
				wantL[k] = v
			}
			for k, v := range tc.addAnnotations {
				wantA[k] = v
			}
			require.Equal(t, wantL, msg.Alerts[i].Labels)
			require.Equal(t, wantA, msg.Alerts[i].Annotations)
			require.Equal(t, statusFiring, msg.Alerts[i].Status)
		})
	}
	require.Equal(t, 3.0, testutil.ToFloat64(a.incidents.labelled))
}

// Without a hook, or with one that finds no incident, notify passes the alerts on as they are.
func TestIncidentLabelsNoHook(t *testing.T) {
	l := newIncidentLabeller(prometheus.NewRegistry())
	alerts := []*rules.Alert{firingAlert("A", "service", "checkout"), firingAlert("B", "service", "search")}
	require.Equal(t, alerts, l.label(alerts))

	setHook(l, (&incidents{}).of)
	require.Equal(t, alerts, l.label(alerts))

	// An empty incident id counts as no incident.
	s := &incidents{}
	s.set("checkout", IncidentInfo{RootCause: "payments"})
	setHook(l, s.of)
	require.Equal(t, alerts, l.label(alerts))
	require.Zero(t, testutil.ToFloat64(l.labelled))
}

// An alert keeps one identity in Alertmanager (its labels) across incidents: when it joins,
// moves or leaves one, the version sent before is resolved; once resolved, it is sent with the
// labels it fired with; and the labeller forgets alerts no longer sent.
func TestIncidentLabelsFollowTheAlert(t *testing.T) {
	l := newIncidentLabeller(prometheus.NewRegistry())
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	s := &incidents{}
	setHook(l, s.of)
	al := firingAlert("ServiceErrors", "service", "checkout")
	orig := snap(al)

	type sent struct {
		incident string // incident_id label, "" for none
		resolved bool
	}
	send := func() []sent {
		t.Helper()
		var out []sent
		for _, c := range l.label([]*rules.Alert{al}) {
			out = append(out, sent{c.Labels.Get(LabelIncidentID), !c.ResolvedAt.IsZero()})
			if c.Labels.Get(LabelIncidentID) == "" {
				require.Same(t, al, c, "an alert outside incidents goes out as it is")
			}
		}
		require.Equal(t, orig, snap(al))
		return out
	}
	inc := func(id string) IncidentInfo {
		return IncidentInfo{ID: id, RootCause: "payments", RootCauseKind: "error"}
	}

	require.Equal(t, []sent{{"", false}}, send(), "no incident")
	s.set("checkout", inc("inc-1"))
	require.Equal(t, []sent{{"inc-1", false}}, send(), "joins inc-1: nothing to resolve, the plain alert was sent before")
	require.Equal(t, []sent{{"inc-1", false}}, send(), "resent unchanged")
	s.set("checkout", inc("inc-2"))
	require.Equal(t, []sent{{"inc-1", true}, {"inc-2", false}}, send(), "moves to inc-2: inc-1's version resolved")
	s.clear("checkout")
	require.Equal(t, []sent{{"inc-2", true}, {"", false}}, send(), "leaves: inc-2's version resolved")

	s.set("checkout", inc("inc-3"))
	require.Equal(t, []sent{{"inc-3", false}}, send())
	s.clear("checkout") // the incident closes before the alert resolves
	al.State, al.ResolvedAt = rules.StateInactive, now
	orig = snap(al)
	require.Equal(t, []sent{{"inc-3", true}}, send(), "resolved with the labels it fired with")
	require.Equal(t, []sent{{"inc-3", true}}, send(), "and so when resent")

	now = now.Add(incidentMemory + time.Minute)
	require.Equal(t, []sent{{"inc-3", true}}, send())
	now = now.Add(incidentMemory + time.Minute)
	l.label(nil)
	require.True(t, l.empty(), "alerts not sent for incidentMemory are forgotten")
	require.Equal(t, []sent{{"", true}}, send())
}

// setHook sets the hook as Alerting.SetIncidentOf does.
func setHook(l *incidentLabeller, f IncidentOf) { l.hook.Store(&f) }

// SetIncidentOf may be called while alerts are being sent (run with -race).
func TestSetIncidentOfConcurrent(t *testing.T) {
	e := newEnv(t)
	cfg := defaultConfig()
	cfg.DisableDefaultRules = true
	a, err := New(cfg, e.db, e.db, e.engine, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(a.Stop)
	s := inc42()

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				if g == 0 {
					if i%2 == 0 {
						a.SetIncidentOf(s.of)
					} else {
						a.SetIncidentOf(nil)
					}
					continue
				}
				a.notify(context.Background(), "up == 0",
					firingAlert("A", "service", "checkout"), firingAlert("A", "service", "search"))
			}
		})
	}
	wg.Wait()
}
