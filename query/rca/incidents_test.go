package rca

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingAnalyzer remembers the engine's last answer.
type recordingAnalyzer struct {
	engine *Engine
	last   Result
}

func (r *recordingAnalyzer) Analyze(ctx context.Context, start, end time.Time) (Result, error) {
	res, err := r.engine.Analyze(ctx, start, end)
	r.last = res
	return res, err
}

// evaluation is the tracker's state after one Evaluate.
type evaluation struct {
	now       time.Time
	top       string // the analysis' first root cause
	incidents []Incident
}

// evaluate runs the world up to each offset of evals in turn and evaluates the tracker there.
func evaluate(t *testing.T, w *world, tr *Tracker, rec *recordingAnalyzer, evals []time.Duration) []evaluation {
	t.Helper()
	var out []evaluation
	for _, d := range evals {
		w.runUntil(d)
		require.NoError(t, tr.Evaluate(context.Background(), at(d)))
		ev := evaluation{now: at(d), incidents: tr.List(worldT0, at(time.Hour), 100)}
		if len(rec.last.RootCauses) > 0 {
			ev.top = rec.last.RootCauses[0].Service
		}
		out = append(out, ev)
	}
	return out
}

func every(from, to, step time.Duration) []time.Duration {
	var out []time.Duration
	for d := from; d <= to; d += step {
		out = append(out, d)
	}
	return out
}

type sample struct {
	t time.Time
	v float64
}

// incidentSamples reads IncidentSeries back from the world's TSDB, by incident ID.
func incidentSamples(t *testing.T, w *world) map[string][]sample {
	t.Helper()
	q, err := w.metrics.Queryable().Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	defer func() { require.NoError(t, q.Close()) }()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, IncidentSeries))
	out := map[string][]sample{}
	for set.Next() {
		s := set.At()
		id := s.Labels().Get(LabelIncidentID)
		require.Equal(t, "payments", s.Labels().Get(LabelRootCause), s.Labels().String())
		require.Equal(t, KindError, s.Labels().Get(LabelRootCauseKind), s.Labels().String())
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			out[id] = append(out[id], sample{time.UnixMilli(ts).UTC(), v})
		}
		require.NoError(t, it.Err())
	}
	require.NoError(t, set.Err())
	return out
}

// TestTrackerIncidentLifecycle: payments fails half of its requests from minute 8 to 11 of
// the world; the tracker evaluates its window (the default -rca.evaluation-window) every
// 30 s as the world runs.
func TestTrackerIncidentLifecycle(t *testing.T) {
	t.Parallel()
	faultFrom, faultTo := 8*time.Minute, 11*time.Minute
	w := newWorld(t, shop(), scenarioPerStep, during("payments", faultFrom, faultTo, effect{errRate: 0.5}))
	cfg := defaultConfig()
	file := filepath.Join(t.TempDir(), "incidents.json")
	rec := &recordingAnalyzer{engine: w.engine(cfg)}
	tr, err := NewTracker(cfg, rec, w.metrics.Appendable(), file, discardLogger(), prometheus.NewRegistry())
	require.NoError(t, err)

	evals := evaluate(t, w, tr, rec, every(7*time.Minute, 19*time.Minute, 30*time.Second))

	// Opened at the second evaluation in a row naming payments, soon after the fault began.
	first := -1
	for i, ev := range evals {
		if ev.now.Before(at(faultFrom)) {
			require.Empty(t, ev.incidents, "no incident before the fault, at %s", ev.now)
		}
		if first < 0 && ev.top == "payments" {
			first = i
		}
	}
	require.GreaterOrEqual(t, first, 0, "no analysis named payments")
	require.False(t, evals[first].now.After(at(faultFrom+time.Minute)), "payments named late: %s", evals[first].now)
	assert.Empty(t, evals[first].incidents, "one evaluation does not open an incident")
	require.Less(t, first+1, len(evals))
	require.Len(t, evals[first+1].incidents, 1, "the second evaluation naming payments opens the incident")
	in := evals[first+1].incidents[0]
	assert.Equal(t, "payments", in.RootCause)
	assert.Equal(t, KindError, in.Kind)
	assert.True(t, in.Ongoing)
	assert.Nil(t, in.End)
	assert.WithinRange(t, in.Start, at(faultFrom).Add(-2*worldStep), at(faultFrom).Add(2*worldStep), "incident start")
	assert.NotEmpty(t, in.Summary)
	assert.NotEmpty(t, in.ExemplarTraces)

	// One incident while the fault lasts, and until it ends at the first evaluation
	// ResolveAfter past the last one that saw payments.
	ended := -1
	for i := first + 1; i < len(evals); i++ {
		ev := evals[i]
		require.Len(t, ev.incidents, 1, "one incident at %s", ev.now)
		got := ev.incidents[0]
		require.Equal(t, in.ID, got.ID, "the same incident at %s", ev.now)
		if got.Ongoing {
			assert.Nil(t, got.End)
			assert.Less(t, ev.now.Sub(got.LastSeen), cfg.ResolveAfter)
			if ev.now.Before(at(faultTo)) {
				assert.Equal(t, ev.now, got.LastSeen, "seen at every evaluation during the fault")
			}
			continue
		}
		if ended < 0 {
			ended = i
		}
		require.NotNil(t, got.End)
		assert.Equal(t, got.LastSeen, *got.End, "an incident ends when its root cause was last seen")
		assert.False(t, got.LastSeen.Before(at(faultTo)), "seen while the window still showed the fault")
	}
	require.GreaterOrEqual(t, ended, 0, "the incident never ended")
	last := evals[ended].incidents[0]
	assert.GreaterOrEqual(t, evals[ended].now.Sub(last.LastSeen), cfg.ResolveAfter)
	assert.Less(t, evals[ended-1].now.Sub(last.LastSeen), cfg.ResolveAfter, "ended at the first evaluation past resolve-after")

	// Of: the root cause and its victims.
	_, _, ok := tr.Of("payments")
	assert.False(t, ok, "no ongoing incident any more")

	// IncidentSeries: 1 at every evaluation from the opening while ongoing, then one 0.
	samples := incidentSamples(t, w)
	require.Len(t, samples, 1)
	var want []sample
	for i := first + 1; i <= ended; i++ {
		v := 1.0
		if i == ended {
			v = 0
		}
		want = append(want, sample{evals[i].now, v})
	}
	assert.Equal(t, want, samples[in.ID])

	// The JSON file holds the incidents: a new tracker starts from them.
	reloaded, err := NewTracker(cfg, rec, nil, file, discardLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	before, err := json.Marshal(tr.List(worldT0, at(time.Hour), 100))
	require.NoError(t, err)
	after, err := json.Marshal(reloaded.List(worldT0, at(time.Hour), 100))
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after))
}

// TestTrackerOpenIncidentOf: while an incident is open, Of finds it from its root cause and
// from its victims.
func TestTrackerOpenIncidentOf(t *testing.T) {
	t.Parallel()
	w := newWorld(t, shop(), scenarioPerStep, during("payments", 6*time.Minute, 0, effect{errRate: 0.5}))
	cfg := defaultConfig()
	rec := &recordingAnalyzer{engine: w.engine(cfg)}
	tr, err := NewTracker(cfg, rec, nil, "", discardLogger(), nil)
	require.NoError(t, err)
	evals := evaluate(t, w, tr, rec, every(6*time.Minute+30*time.Second, 8*time.Minute, 30*time.Second))
	require.Len(t, evals[len(evals)-1].incidents, 1)

	in, root, ok := tr.Of("payments")
	require.True(t, ok)
	assert.True(t, root)
	assert.Equal(t, "payments", in.RootCause)
	in, root, ok = tr.Of("checkout")
	require.True(t, ok, "checkout is a victim")
	assert.False(t, root)
	assert.Equal(t, "payments", in.RootCause)
	_, _, ok = tr.Of("catalog")
	assert.False(t, ok, "catalog is not involved")
}

// TestTrackerNoFault: a world without a fault opens no incident and writes no series.
func TestTrackerNoFault(t *testing.T) {
	t.Parallel()
	w := newWorld(t, shop(), scenarioPerStep, noFault)
	cfg := defaultConfig()
	file := filepath.Join(t.TempDir(), "incidents.json")
	rec := &recordingAnalyzer{engine: w.engine(cfg)}
	tr, err := NewTracker(cfg, rec, w.metrics.Appendable(), file, discardLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	for _, ev := range evaluate(t, w, tr, rec, every(6*time.Minute, 12*time.Minute, 30*time.Second)) {
		assert.Empty(t, ev.incidents, "at %s", ev.now)
		assert.Empty(t, ev.top, "at %s: %s", ev.now, brief(rec.last))
	}
	assert.Empty(t, incidentSamples(t, w))
	_, err = os.Stat(file)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing to keep, nothing written")
}

// scriptedAnalyzer answers each evaluation with the next scripted result. It stands in for
// the engine where the test is about the tracker's bookkeeping alone.
type scriptedAnalyzer struct{ results []Result }

func (s *scriptedAnalyzer) Analyze(_ context.Context, _, end time.Time) (Result, error) {
	res := s.results[0]
	s.results = s.results[1:]
	res.End = end
	return res, nil
}

// troubleAt is an analysis whose root cause (ranked above others) has an anomaly covering
// [since, until].
func troubleAt(since, until time.Time, roots ...string) Result {
	res := Result{}
	for i, r := range roots {
		res.RootCauses = append(res.RootCauses, RootCause{Service: r, Score: 1 / float64(i+2), Kind: KindLatency, Since: since})
		res.Anomalies = append(res.Anomalies, Anomaly{Entity: r, Signal: signalLatency, Since: since, Until: until})
	}
	return res
}

// A fault that starts while the incident of an earlier, related fault is over but not yet
// ended (its root cause quiet for less than the resolve-after period) is a new incident, even
// though the analysis still ranks the earlier root cause below it.
func TestTrackerNewTroubleIsANewIncident(t *testing.T) {
	cfg := defaultConfig()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	script := &scriptedAnalyzer{}
	var evals []time.Time
	// ranker is slow from 0 to 60 s; search-index from 105 s, with ranker still ranked second.
	for s := 15; s <= 75; s += 15 {
		script.results = append(script.results, troubleAt(at(0), at(min(s, 60)), "ranker"))
		evals = append(evals, at(s))
	}
	for s := 90; s <= 150; s += 15 {
		res := Result{}
		if s >= 120 {
			res = troubleAt(at(105), at(s), "search-index", "ranker")
			res.Anomalies = res.Anomalies[:1] // ranker itself is fine again
		}
		script.results = append(script.results, res)
		evals = append(evals, at(s))
	}
	tr, err := NewTracker(cfg, script, nil, "", discardLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	for _, now := range evals {
		require.NoError(t, tr.Evaluate(context.Background(), now))
	}
	got := tr.List(t0, at(200), 10)
	require.Len(t, got, 2, "%+v", got)
	assert.Equal(t, "search-index", got[0].RootCause)
	assert.True(t, got[0].Ongoing)
	assert.Equal(t, "ranker", got[1].RootCause, "the earlier incident keeps its root cause")
	assert.Equal(t, at(60), got[1].LastSeen)
}

// Root causes that started together are one trouble: one incident, however many are named
// (a saturated host slows many services at once). A second root cause whose trouble started
// well after the first is an incident of its own.
func TestTrackerGroupsRootCausesThatStartedTogether(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	both := func(s int, secondSince time.Time) Result {
		res := troubleAt(at(0), at(s), "ledger", "ranker")
		res.RootCauses[1].Score = res.RootCauses[0].Score // as strong
		res.RootCauses[1].Since, res.Anomalies[1].Since = secondSince, secondSince
		return res
	}
	run := func(secondSince time.Time) []Incident {
		script := &scriptedAnalyzer{}
		var evals []time.Time
		for s := 15; s <= 180; s += 15 {
			script.results = append(script.results, both(s, secondSince))
			evals = append(evals, at(s))
		}
		tr, err := NewTracker(defaultConfig(), script, nil, "", discardLogger(), prometheus.NewRegistry())
		require.NoError(t, err)
		for _, now := range evals {
			require.NoError(t, tr.Evaluate(context.Background(), now))
		}
		return tr.List(t0, at(200), 10)
	}
	together := run(at(15))
	require.Len(t, together, 1, "%+v", together)
	assert.Equal(t, "ledger", together[0].RootCause)

	apart := run(at(120)) // the second trouble began two minutes into the first
	require.Len(t, apart, 2, "%+v", apart)
	assert.ElementsMatch(t, []string{"ledger", "ranker"}, []string{apart[0].RootCause, apart[1].RootCause})
}

// OnChange runs when an incident opens and when it ends, not at every evaluation.
func TestTrackerOnChange(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	script := &scriptedAnalyzer{}
	var evals []time.Time
	for s := 15; s <= 300; s += 15 {
		res := Result{}
		if s <= 90 {
			res = troubleAt(at(0), at(s), "ledger")
		}
		script.results = append(script.results, res)
		evals = append(evals, at(s))
	}
	tr, err := NewTracker(defaultConfig(), script, nil, "", discardLogger(), prometheus.NewRegistry())
	require.NoError(t, err)
	calls := 0
	tr.OnChange(func(context.Context) { calls++ })
	var changedAt []time.Time
	for _, now := range evals {
		before := calls
		require.NoError(t, tr.Evaluate(context.Background(), now))
		if calls > before {
			changedAt = append(changedAt, now)
		}
	}
	require.Len(t, changedAt, 2, "opened, then ended: %v", changedAt)
	assert.Equal(t, at(45), changedAt[0], "opened once named twice and its trouble lasted three steps")
	assert.Equal(t, at(90).Add(defaultConfig().ResolveAfter), changedAt[1], "ended once ledger was quiet for resolve-after")
}
