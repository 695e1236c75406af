package rca

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// IncidentSeries is the series an open incident keeps at 1 in the metrics store (0 once it
// ends), so that alert rules can page on incidents; see internal/alerting/defaultrules.
const IncidentSeries = "faultline_incident_active"

// Labels of IncidentSeries.
const (
	LabelIncidentID    = "incident_id"
	LabelRootCause     = "root_cause"
	LabelRootCauseKind = "root_cause_kind"
)

const (
	// confirmAfter is how many evaluations in a row must name a root cause before an
	// incident opens: one deviating bucket does not page anyone.
	confirmAfter = 2
	// maxIncidents bounds the incidents kept.
	maxIncidents = 10_000
)

// Incident is trouble with one root cause, from its start to its end.
type Incident struct {
	ID    string     `json:"id"`
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end"` // nil while ongoing
	// Ongoing is true until the root cause has not been seen for the resolve-after period.
	Ongoing  bool      `json:"ongoing"`
	LastSeen time.Time `json:"last_seen"`
	// RootCause and Kind are the incident's first root cause, as last evaluated.
	RootCause string `json:"root_cause"`
	Kind      string `json:"kind"`
	// The latest analysis of the incident (the fields of GET /api/v1/rca).
	Findings
}

// involves says whether a node is one of the incident's root causes or victims.
func (in *Incident) involves(n string) bool {
	if slices.ContainsFunc(in.RootCauses, func(r RootCause) bool { return r.Service == n }) {
		return true
	}
	return slices.ContainsFunc(in.Affected, func(v Affected) bool { return v.Service == n })
}

// Analyzer is what the tracker needs from the engine.
type Analyzer interface {
	Analyze(ctx context.Context, start, end time.Time) (Result, error)
}

// Tracker evaluates the recent past at an interval and keeps incidents: anomalies that share
// a root cause are one incident, from when its trouble started until its root cause has been
// quiet for a while. Incidents are kept in a JSON file under the data dir.
type Tracker struct {
	cfg    Config
	engine Analyzer
	app    storage.Appendable // nil: no IncidentSeries
	file   string             // "": kept in memory only
	logger *slog.Logger

	mu        sync.RWMutex
	incidents []*Incident    // by start
	pending   map[string]int // root cause -> evaluations in a row naming it
	written   map[string]labels.Labels

	// onChange, when set, is called (outside the lock) after an evaluation that opened or
	// ended an incident or changed its root cause or victims.
	onChange func(context.Context)

	evaluations *prometheus.CounterVec
	opened      prometheus.Counter
	open        prometheus.GaugeFunc
}

// NewTracker loads the incidents kept in file (if it exists) and returns a tracker; call Run.
func NewTracker(cfg Config, engine Analyzer, app storage.Appendable, file string, logger *slog.Logger, reg prometheus.Registerer) (*Tracker, error) {
	t := &Tracker{
		cfg: cfg, engine: engine, app: app, file: file, logger: logger,
		pending: map[string]int{}, written: map[string]labels.Labels{},
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_rca_evaluations_total",
			Help: "Incident evaluations, by result (ok, failed).",
		}, []string{"result"}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_incidents_opened_total",
			Help: "Incidents opened.",
		}),
	}
	t.open = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_incidents_open",
		Help: "Incidents ongoing.",
	}, func() float64 {
		t.mu.RLock()
		defer t.mu.RUnlock()
		n := 0
		for _, in := range t.incidents {
			if in.Ongoing {
				n++
			}
		}
		return float64(n)
	})
	if reg != nil {
		reg.MustRegister(t.evaluations, t.opened, t.open)
	}
	if file != "" {
		if err := t.load(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Tracker) load() error {
	b, err := os.ReadFile(t.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read incidents: %w", err)
	}
	var kept struct {
		Incidents []*Incident `json:"incidents"`
	}
	if err := json.Unmarshal(b, &kept); err != nil {
		return fmt.Errorf("read incidents from %s: %w", t.file, err)
	}
	t.incidents = kept.Incidents
	return nil
}

// save writes the incidents to a new file and renames it over the old one, so that a crash
// leaves the old or the new list, never half of one. Called under t.mu.
func (t *Tracker) save() error {
	if t.file == "" {
		return nil
	}
	b, err := json.Marshal(struct {
		Incidents []*Incident `json:"incidents"`
	}{t.incidents})
	if err != nil {
		return err
	}
	tmp := t.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write incidents: %w", err)
	}
	if err := os.Rename(tmp, t.file); err != nil {
		return fmt.Errorf("write incidents: %w", err)
	}
	return nil
}

// Run evaluates every EvaluationInterval until ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.EvaluationInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if err := t.Evaluate(ctx, now); err != nil && ctx.Err() == nil {
				t.logger.Warn("incident evaluation failed", "err", err)
			}
		}
	}
}

// Evaluate analyses the evaluation window ending at now and opens, updates and ends
// incidents.
func (t *Tracker) Evaluate(ctx context.Context, now time.Time) error {
	res, err := t.engine.Analyze(ctx, now.Add(-t.cfg.EvaluationWindow), now)
	if err != nil {
		t.evaluations.WithLabelValues("failed").Inc()
		return err
	}
	t.evaluations.WithLabelValues("ok").Inc()
	t.mu.Lock()
	before := t.roots()
	changed := t.apply(res, now)
	moved := !maps.Equal(before, t.roots())
	err = nil
	if changed {
		err = t.save()
	}
	if err == nil {
		err = t.writeSeries(ctx, now)
	}
	onChange := t.onChange
	t.mu.Unlock()
	if moved && onChange != nil {
		onChange(ctx)
	}
	return err
}

// OnChange sets a function called after an evaluation that opened or ended an incident or
// changed one's root cause or victims: the alerting resends firing alerts with their new
// incident labels.
func (t *Tracker) OnChange(f func(context.Context)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onChange = f
}

// roots maps each ongoing incident to its root cause and victims: what alerts are labelled
// from. Called under t.mu.
func (t *Tracker) roots() map[string]string {
	out := map[string]string{}
	for _, in := range t.incidents {
		if in.Ongoing {
			k := in.RootCause
			for _, v := range in.Affected {
				k += " " + v.Service
			}
			out[in.ID] = k
		}
	}
	return out
}

// apply folds one analysis into the incidents; it reports whether any changed. Called under
// t.mu.
func (t *Tracker) apply(res Result, now time.Time) bool {
	changed := false
	seen := map[*Incident]bool{}
	var named []RootCause
	if len(res.RootCauses) > 0 {
		top := res.RootCauses[0].Score
		for _, rc := range res.RootCauses {
			if rc.Score >= top/2 {
				named = append(named, rc)
			}
		}
	}
	stillPending := map[string]int{}
	var lead *RootCause
	for _, rc := range named {
		lastSeen, recent, sustained := t.standing(rc, res, now)
		if !recent {
			continue // trouble of minutes ago still in the window: it neither opens nor prolongs
		}
		if lead != nil && !t.hasOwn(rc.Service, seen) && rc.Since.Sub(lead.Since).Abs() <= t.cfg.EvaluationWindow {
			continue // it started with the lead root cause: the same trouble, one incident
		}
		if lead == nil {
			lead = &rc
		}
		if in := t.match(rc, res, seen); in != nil {
			seen[in] = true
			in.update(rc, res, lastSeen)
			changed = true
			continue
		}
		n := t.pending[rc.Service] + 1
		if n < confirmAfter || !sustained {
			stillPending[rc.Service] = n
			continue
		}
		in := &Incident{ID: incidentID(rc.Service, rc.Since), Start: rc.Since, Ongoing: true}
		if in.Start.IsZero() || in.Start.After(now) {
			in.Start = now
		}
		in.update(rc, res, lastSeen)
		t.incidents = append(t.incidents, in)
		seen[in] = true
		t.opened.Inc()
		changed = true
		t.logger.Info("incident opened", "id", in.ID, "root_cause", in.RootCause, "kind", in.Kind, "summary", in.Summary)
	}
	t.pending = stillPending
	for _, in := range t.incidents {
		if in.Ongoing && !seen[in] && now.Sub(in.LastSeen) >= t.cfg.ResolveAfter {
			end := in.LastSeen
			in.End, in.Ongoing = &end, false
			changed = true
			t.logger.Info("incident ended", "id", in.ID, "root_cause", in.RootCause, "duration", end.Sub(in.Start).Round(time.Second))
		}
	}
	// Retention.
	keep := t.incidents[:0]
	for _, in := range t.incidents {
		if in.Ongoing || in.End != nil && in.End.After(now.Add(-t.cfg.IncidentRetention)) {
			keep = append(keep, in)
		} else {
			changed = true
		}
	}
	t.incidents = keep
	if over := len(t.incidents) - maxIncidents; over > 0 {
		t.incidents = slices.Delete(t.incidents, 0, over)
		changed = true
	}
	return changed
}

// standing says when a root cause's trouble was last seen (the end of the last bucket an
// anomaly of it, or of a call into it, covers), whether that is still going on at now (within
// the last two evaluation intervals), and whether it has lasted at least two buckets, which it
// must have to open an incident.
func (t *Tracker) standing(rc RootCause, res Result, now time.Time) (lastSeen time.Time, recent, sustained bool) {
	var from, until time.Time
	for _, x := range res.Anomalies {
		into := x.Entity == rc.Service || strings.HasSuffix(x.Entity, " -> "+rc.Service)
		amplifies := x.Signal == signalTraffic && strings.HasPrefix(x.Entity, rc.Service+" -> ")
		if !into && !amplifies {
			continue
		}
		if from.IsZero() || x.Since.Before(from) {
			from = x.Since
		}
		if x.Until.After(until) {
			until = x.Until
		}
	}
	if until.IsZero() {
		return time.Time{}, false, false
	}
	recent = !until.Before(now.Add(-2 * t.cfg.EvaluationInterval))
	if until.After(now) {
		until = now
	}
	return until, recent, until.Sub(from) >= 3*t.cfg.Step
}

// hasOwn says whether an ongoing incident not yet matched has this root cause.
func (t *Tracker) hasOwn(root string, taken map[*Incident]bool) bool {
	return slices.ContainsFunc(t.incidents, func(in *Incident) bool {
		return in.Ongoing && !taken[in] && in.RootCause == root
	})
}

// match finds the ongoing incident a root cause belongs to: the one with that root cause,
// else one still in trouble that ranked it among its root causes, or whose root cause the
// analysis still ranks (the ranking sharpened as more of the cascade became visible).
func (t *Tracker) match(rc RootCause, res Result, taken map[*Incident]bool) *Incident {
	var fallback *Incident
	for _, in := range t.incidents {
		if !in.Ongoing || taken[in] {
			continue
		}
		if in.RootCause == rc.Service {
			return in
		}
		if res.End.Sub(in.LastSeen) > 2*t.cfg.EvaluationInterval {
			continue // its trouble is over, only not yet long enough to end it: new trouble is new
		}
		wasRoot := slices.ContainsFunc(in.RootCauses, func(r RootCause) bool { return r.Service == rc.Service })
		stillRoot := slices.ContainsFunc(res.RootCauses, func(r RootCause) bool { return r.Service == in.RootCause })
		if fallback == nil && (wasRoot || stillRoot) {
			fallback = in
		}
	}
	return fallback
}

func (in *Incident) update(rc RootCause, res Result, seen time.Time) {
	if seen.After(in.LastSeen) {
		in.LastSeen = seen
	}
	in.RootCause, in.Kind = rc.Service, rc.Kind
	in.Findings = res.Findings
}

// incidentID is readable and sortable: the start time and the root cause's hash.
func incidentID(root string, start time.Time) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(root))
	_, _ = fmt.Fprint(h, start.UnixNano())
	return fmt.Sprintf("%s-%08x", start.UTC().Format("20060102T150405Z"), h.Sum32())
}

// writeSeries appends IncidentSeries: 1 for every ongoing incident, 0 for labels that no
// longer stand (an incident ended, or its root cause changed). Called under t.mu.
func (t *Tracker) writeSeries(ctx context.Context, now time.Time) error {
	if t.app == nil {
		return nil
	}
	app := t.app.Appender(ctx)
	ts := now.UnixMilli()
	live := map[string]labels.Labels{}
	for _, in := range t.incidents {
		if !in.Ongoing {
			continue
		}
		l := labels.FromStrings(model.MetricNameLabel, IncidentSeries, LabelIncidentID, in.ID,
			LabelRootCause, in.RootCause, LabelRootCauseKind, in.Kind)
		live[l.String()] = l
		if _, err := app.Append(0, l, ts, 1); err != nil {
			_ = app.Rollback()
			return fmt.Errorf("append %s: %w", IncidentSeries, err)
		}
	}
	for k, l := range t.written {
		if _, ok := live[k]; ok {
			continue
		}
		if _, err := app.Append(0, l, ts, 0); err != nil {
			_ = app.Rollback()
			return fmt.Errorf("append %s: %w", IncidentSeries, err)
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", IncidentSeries, err)
	}
	t.written = live
	return nil
}

// List returns copies of the incidents that overlap [start, end], newest first, at most limit.
func (t *Tracker) List(start, end time.Time, limit int) []Incident {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := []Incident{}
	for i := len(t.incidents) - 1; i >= 0 && len(out) < limit; i-- {
		in := t.incidents[i]
		if in.Start.After(end) || (in.End != nil && in.End.Before(start)) {
			continue
		}
		out = append(out, *in)
	}
	return out
}

// Of returns the ongoing incident a node is the root cause or a victim of, and whether it
// is the root cause. A node in several incidents gets the one where it is the root cause,
// else the latest.
func (t *Tracker) Of(node string) (in Incident, root bool, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i := len(t.incidents) - 1; i >= 0; i-- {
		c := t.incidents[i]
		if !c.Ongoing {
			continue
		}
		if c.RootCause == node {
			return *c, true, true
		}
		if !ok && c.involves(node) {
			in, ok = *c, true
		}
	}
	return in, false, ok
}

// FilePath is where a data dir keeps incidents.
func FilePath(dataDir string) string { return filepath.Join(dataDir, "incidents.json") }
