package topology

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// jaegerDependency is one link of Jaeger's dependencies API, which Grafana's Jaeger data source
// draws as a service graph.
type jaegerDependency struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount int64  `json:"callCount"`
}

type jaegerEnvelope struct {
	Data   any           `json:"data"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
	Errors []jaegerError `json:"errors"`
}

type jaegerError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// RegisterJaeger serves GET /jaeger/api/dependencies?endTs=MS&lookback=MS (both in
// milliseconds, as Jaeger takes them; defaults: now and the default window) from the same
// edges as /api/v1/topology.
func (a *API) RegisterJaeger(mux *http.ServeMux) {
	mux.HandleFunc("GET /jaeger/api/dependencies", a.serveJaegerDependencies)
}

func (a *API) serveJaegerDependencies(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) {
		writeJSON(w, code, jaegerEnvelope{Errors: []jaegerError{{Code: code, Msg: msg}}})
	}
	end, lookback := a.now(), a.cfg.DefaultWindow
	if v := r.URL.Query().Get("endTs"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			fail(http.StatusBadRequest, "endTs: want milliseconds since the epoch, got "+strconv.Quote(v))
			return
		}
		end = time.UnixMilli(ms)
	}
	if v := r.URL.Query().Get("lookback"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			fail(http.StatusBadRequest, "lookback: want a positive number of milliseconds, got "+strconv.Quote(v))
			return
		}
		lookback = time.Duration(ms) * time.Millisecond
	}
	topo, err := a.Topology(r.Context(), end.Add(-lookback), end)
	if err != nil {
		var bad *ParamError
		if errors.As(err, &bad) {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		a.logger.Error("dependencies", "err", err)
		fail(http.StatusInternalServerError, "computing dependencies failed")
		return
	}
	deps := make([]jaegerDependency, 0, len(topo.Edges))
	for _, e := range topo.Edges {
		deps = append(deps, jaegerDependency{Parent: e.Caller, Child: e.Callee, CallCount: e.Requests})
	}
	writeJSON(w, http.StatusOK, jaegerEnvelope{Data: deps, Total: len(deps)})
}
