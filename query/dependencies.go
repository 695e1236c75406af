package query

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Dependency is one caller → callee link of Jaeger's dependencies API, which Grafana's Jaeger
// data source draws as a service graph.
type Dependency struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount int64  `json:"callCount"`
}

// DependencySource answers the links seen in [start, end) (the service graph).
type DependencySource func(ctx context.Context, start, end time.Time) ([]Dependency, error)

// SetDependencies enables GET /jaeger/api/dependencies?endTs=MS&lookback=MS (milliseconds, as
// Jaeger takes them; defaults: now and defaultLookback). Call it before Register.
func (a *API) SetDependencies(src DependencySource, defaultLookback time.Duration) {
	a.deps, a.depsLookback = src, defaultLookback
}

func (a *API) serveJaegerDependencies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	end, lookback := time.Now(), a.depsLookback
	if v := q.Get("endTs"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			writeJaegerError(w, http.StatusBadRequest, "endTs: want milliseconds since the epoch, got "+strconv.Quote(v))
			return
		}
		end = time.UnixMilli(ms)
	}
	if v := q.Get("lookback"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			writeJaegerError(w, http.StatusBadRequest, "lookback: want a positive number of milliseconds, got "+strconv.Quote(v))
			return
		}
		lookback = time.Duration(ms) * time.Millisecond
	}
	deps, err := a.deps(r.Context(), end.Add(-lookback), end)
	if err != nil {
		a.fail(w, r, err, true)
		return
	}
	if deps == nil {
		deps = []Dependency{}
	}
	writeJaeger(w, deps, len(deps), nil)
}
