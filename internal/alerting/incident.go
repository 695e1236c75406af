package alerting

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
)

// The labels and the annotation that tie an alert to an incident of the RCA engine, so that
// Alertmanager can group a cascade into one notification, route it to the root cause's owner
// and inhibit the victims (deploy/alertmanager.example.yml).
const (
	LabelIncidentID    = "incident_id"
	LabelRootCause     = "root_cause"
	LabelRootCauseKind = "root_cause_kind"
	LabelIncidentRole  = "incident_role"
	AnnotationIncident = "incident"

	RoleRootCause = "root_cause"
	RoleVictim    = "victim"
)

// IncidentOf tells which open incident an alert belongs to, from the alert's labels
// (typically its "service" label: the root cause or one of the affected services).
// ok is false when the alert belongs to none. It is called from the rules manager's
// goroutines, concurrently, once per alert sent: it must be safe for concurrent use and quick.
type IncidentOf func(lset labels.Labels) (inc IncidentInfo, ok bool)

// IncidentInfo is what an alert is labelled with when it belongs to an incident.
type IncidentInfo struct {
	ID            string // incident id; empty counts as no incident
	RootCause     string // root-cause service
	RootCauseKind string // error | latency | saturation | down
	// Role is "root_cause" when the alert's service is the root cause, else "victim". Empty:
	// "root_cause" if the alert's service label is RootCause, else "victim".
	Role    string
	Summary string // one sentence: what failed, since when, how far it spread
}

// SetIncidentOf sets (nil: removes) the hook that ties alerts to incidents. It may be called
// before or after Start, and is safe for concurrent use with the alerts being sent.
func (a *Alerting) SetIncidentOf(f IncidentOf) {
	if f == nil {
		a.incidents.hook.Store(nil)
		return
	}
	a.incidents.hook.Store(&f)
}

// incidentMemory is how long the labels an alert was last sent with are kept after its last
// send: longer than the rules manager keeps resending resolved alerts (15m).
const incidentMemory = 30 * time.Minute

// incidentLabeller gives the rules manager's alerts the labels of their incident, on copies.
//
// Alertmanager tells alerts apart by their labels, so an alert that joins an incident, leaves
// it or moves to another one becomes a different alert there. So that the old one does not
// stay firing (and, no longer inhibited, page) until it expires, the labeller remembers the
// labels each alert was last sent with and, when they change, also sends the old version
// resolved. A resolved alert is sent with the labels it fired with, whatever the hook says by
// then, so that it resolves the alert Alertmanager has.
type incidentLabeller struct {
	hook     atomic.Pointer[IncidentOf]
	labelled prometheus.Counter
	now      func() time.Time

	mtx       sync.Mutex
	sent      map[uint64]*sentAlert // by the hash of the rule's own alert labels
	lastSweep time.Time
}

// sentAlert is an alert as last sent with incident labels.
type sentAlert struct {
	labels, annotations labels.Labels
	seen                time.Time
}

func newIncidentLabeller(reg prometheus.Registerer) *incidentLabeller {
	l := &incidentLabeller{
		labelled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_alerts_incident_labelled_total",
			Help: "Alerts sent (each send, to Alertmanager and the webhook alike) with the labels of the RCA incident they belong to.",
		}),
		now:  time.Now,
		sent: map[uint64]*sentAlert{},
	}
	reg.MustRegister(l.labelled)
	return l
}

// label returns the alerts to send in place of alerts: the same pointers when nothing changes,
// otherwise a new slice with labelled copies. The rules manager's alerts are never modified.
func (l *incidentLabeller) label(alerts []*rules.Alert) []*rules.Alert {
	hook := l.hook.Load()
	now := l.now()
	var out []*rules.Alert // nil while every alert so far goes out unchanged
	for i, al := range alerts {
		repl, changed := l.labelOne(hook, al, now)
		if changed && out == nil {
			out = make([]*rules.Alert, i, len(alerts)+1)
			copy(out, alerts[:i])
		}
		switch {
		case changed:
			out = append(out, repl...)
		case out != nil:
			out = append(out, al)
		}
	}
	l.sweep(now)
	if out == nil {
		return alerts
	}
	return out
}

// labelOne returns what to send for al, and whether that differs from al alone.
func (l *incidentLabeller) labelOne(hook *IncidentOf, al *rules.Alert, now time.Time) ([]*rules.Alert, bool) {
	if al.Labels.Has(LabelIncidentID) {
		// The alert comes with its incident (FaultlineIncident, from the engine's series).
		if al.Labels.Has(LabelIncidentRole) {
			return nil, false
		}
		c := *al
		c.Labels = labels.NewBuilder(al.Labels).Set(LabelIncidentRole, RoleRootCause).Labels()
		return []*rules.Alert{&c}, true
	}
	if hook == nil && l.empty() {
		return nil, false
	}
	h := al.Labels.Hash()

	if !al.ResolvedAt.IsZero() {
		l.mtx.Lock()
		prev := l.sent[h]
		if prev != nil {
			prev.seen = now
		}
		l.mtx.Unlock()
		if prev == nil {
			return nil, false
		}
		c := *al
		c.Labels, c.Annotations = prev.labels, prev.annotations
		l.labelled.Inc()
		return []*rules.Alert{&c}, true
	}

	var (
		inc IncidentInfo
		ok  bool
	)
	if hook != nil {
		inc, ok = (*hook)(al.Labels)
		ok = ok && inc.ID != ""
	}
	var cur *rules.Alert
	if ok {
		c := *al
		c.Labels, c.Annotations = withIncident(al.Labels, al.Annotations, inc)
		cur = &c
	}

	l.mtx.Lock()
	prev := l.sent[h]
	if ok {
		l.sent[h] = &sentAlert{labels: cur.Labels, annotations: cur.Annotations, seen: now}
	} else {
		delete(l.sent, h)
	}
	l.mtx.Unlock()

	var out []*rules.Alert
	if prev != nil && (cur == nil || !labels.Equal(prev.labels, cur.Labels)) {
		// The alert left its incident or moved to another one: resolve the old version.
		old := *al
		old.State = rules.StateInactive
		old.Labels, old.Annotations = prev.labels, prev.annotations
		old.ResolvedAt, old.ValidUntil = now, now
		out = append(out, &old)
	}
	switch {
	case cur != nil:
		l.labelled.Inc()
		out = append(out, cur)
	case out != nil:
		out = append(out, al)
	}
	return out, out != nil
}

// withIncident returns copies of an alert's labels and annotations with inc's.
func withIncident(lset, ann labels.Labels, inc IncidentInfo) (labels.Labels, labels.Labels) {
	role := inc.Role
	if role == "" {
		role = RoleVictim
		if lset.Get("service") == inc.RootCause {
			role = RoleRootCause
		}
	}
	lb := labels.NewBuilder(lset)
	lb.Set(LabelIncidentID, inc.ID)
	lb.Set(LabelRootCause, inc.RootCause)
	lb.Set(LabelRootCauseKind, inc.RootCauseKind)
	lb.Set(LabelIncidentRole, role)
	if inc.Summary == "" {
		return lb.Labels(), ann
	}
	return lb.Labels(), labels.NewBuilder(ann).Set(AnnotationIncident, inc.Summary).Labels()
}

func (l *incidentLabeller) empty() bool {
	l.mtx.Lock()
	defer l.mtx.Unlock()
	return len(l.sent) == 0
}

// sweep forgets, at most once a minute, the alerts not sent for incidentMemory (deleted
// rules, resolved alerts the rules manager no longer resends).
func (l *incidentLabeller) sweep(now time.Time) {
	l.mtx.Lock()
	defer l.mtx.Unlock()
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for h, s := range l.sent {
		if now.Sub(s.seen) > incidentMemory {
			delete(l.sent, h)
		}
	}
}

// ResendFiring sends every firing alert again at once, through the incident labelling. The
// rules manager resends an alert only every resend delay (a minute), so without this an alert
// that fired before its incident opened would reach Alertmanager with its incident's labels a
// minute late, after the cascade may be over; the RCA engine calls it when incidents change.
func (a *Alerting) ResendFiring(ctx context.Context) {
	for _, r := range a.manager.AlertingRules() {
		var firing []*rules.Alert
		for _, al := range r.ActiveAlerts() { // copies
			if al.State == rules.StateFiring {
				al.Labels = al.Labels.Copy() // the notifier keeps the slice
				firing = append(firing, al)
			}
		}
		a.notify(ctx, r.Query().String(), firing...)
	}
}
