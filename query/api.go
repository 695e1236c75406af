// Package query is Faultline's query service HTTP API for traces: Faultline's own JSON API
// under /api/v1 and the Jaeger query API under /jaeger/api, both read from a span store.
//
// # Faultline JSON (/api/v1)
//
// GET /api/v1/traces/{trace_id} answers
//
//	{"trace_id": "<32 hex>", "spans": [span, ...]}
//
// with the spans sorted by start time (then end time, then span ID). Each span is
//
//	{
//	  "span_id": "<16 hex>", "parent_span_id": "<16 hex>" or "" for a root,
//	  "service": "<service.name of the resource>", "name": "<span name>",
//	  "kind": "server" | "client" | "producer" | "consumer" | "internal" | "unspecified",
//	  "start_unix_nano": 1700000000000000000, "end_unix_nano": 1700000000250000000 (JSON integers),
//	  "duration_ms": 250.0,
//	  "status": {"code": "ok" | "error" | "unset", "message": ""},
//	  "attributes": {"key": value, ...},
//	  "events": [{"name": "", "time_unix_nano": 0, "attributes": {...}}, ...],
//	  "links": [{"trace_id": "", "span_id": "", "trace_state": "", "attributes": {...}}, ...],
//	  "resource": {"service.name": "checkout", ...},
//	  "scope": {"name": "", "version": ""}
//	}
//
// Attribute values keep their OTLP type, as pcommon.Value.AsRaw gives them: strings, numbers
// (integers exact), booleans, arrays and objects; bytes are base64 strings (as encoding/json
// writes []byte); an empty value is null; a NaN or infinite double, which JSON cannot carry,
// becomes the string "NaN", "+Inf" or "-Inf". Lists are never null: no events is []. Strings
// are escaped by encoding/json, so "<script>" comes back as "\u003cscript\u003e".
//
// GET /api/v1/traces answers summaries, newest first, with "start" as RFC 3339 in UTC with
// nine fractional digits and "duration_ms" as a float.
//
// Errors are {"error": "..."}: 400 for a bad parameter (the message names it), 404 for an
// unknown trace, 405 for a method other than GET or HEAD, 500 when the store fails (logged).
//
// # Jaeger (/jaeger/api)
//
// The JSON model of Jaeger's HTTP query API, as its UI and Grafana's Jaeger data source read
// it: every answer is the envelope {"data", "total", "limit", "offset", "errors"} and every
// error is {"data": null, ..., "errors": [{"code": 400, "msg": "..."}]}. Spans are mapped
// from OTLP as the OpenTelemetry Collector's Jaeger translator does.
package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faultline/faultline/internal/spanstore"
)

// API serves the trace query endpoints from a span store.
type API struct {
	cfg      Config
	reader   spanstore.Reader
	logger   *slog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	deps         DependencySource // nil: no dependencies route
	depsLookback time.Duration
	logs         http.HandlerFunc // nil: no logs route
}

// SetLogs adds GET /api/v1/logs, answered by h (query/logs), counted and timed like the
// other routes. Call it before Register.
func (a *API) SetLogs(h http.Handler) { a.logs = h.ServeHTTP }

// NewAPI builds the API over reader and registers its metrics with reg (which may be nil).
func NewAPI(cfg Config, reader spanstore.Reader, logger *slog.Logger, reg prometheus.Registerer) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if reader == nil {
		return nil, errors.New("query API: nil span store reader")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &API{
		cfg:    cfg,
		reader: reader,
		logger: logger,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_query_requests_total",
			Help: "Trace query API requests by route (the mux pattern) and HTTP status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "faultline_query_request_duration_seconds",
			Help:    "Time to answer trace query API requests, by route (the mux pattern).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{a.requests, a.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register query API metrics: %w", err)
			}
		}
	}
	return a, nil
}

// route is one endpoint: a GET pattern and its handler.
type route struct {
	path    string
	handler http.HandlerFunc
	jaeger  bool // errors in Jaeger's envelope
}

func (a *API) routes() []route {
	rs := []route{
		{path: "/api/v1/services", handler: a.serveServices},
		{path: "/api/v1/traces", handler: a.serveTraceSearch},
		{path: "/api/v1/traces/{trace_id}", handler: a.serveTrace},
		{path: "/jaeger/api/services", handler: a.serveJaegerServices, jaeger: true},
		{path: "/jaeger/api/services/{service}/operations", handler: a.serveJaegerServiceOperations, jaeger: true},
		{path: "/jaeger/api/operations", handler: a.serveJaegerOperations, jaeger: true},
		{path: "/jaeger/api/traces", handler: a.serveJaegerTraceSearch, jaeger: true},
		{path: "/jaeger/api/traces/{trace_id}", handler: a.serveJaegerTrace, jaeger: true},
	}
	if a.deps != nil {
		rs = append(rs, route{path: "/jaeger/api/dependencies", handler: a.serveJaegerDependencies, jaeger: true})
	}
	if a.logs != nil {
		rs = append(rs, route{path: "/api/v1/logs", handler: a.logs})
	}
	return rs
}

// Register adds the routes to mux: each as "GET path" (which also answers HEAD), and the bare
// path for every other method, answered with a JSON 405.
func (a *API) Register(mux *http.ServeMux) {
	for _, r := range a.routes() {
		pattern := "GET " + r.path
		mux.Handle(pattern, a.instrument(pattern, r.handler))
		mux.Handle(r.path, a.instrument(r.path, a.methodNotAllowed(r.jaeger)))
	}
}

// instrument counts and times requests under the route's pattern, so the label set stays
// bounded whatever paths clients send.
func (a *API) instrument(pattern string, h http.Handler) http.Handler {
	labels := prometheus.Labels{"route": pattern}
	return promhttp.InstrumentHandlerDuration(a.duration.MustCurryWith(labels),
		promhttp.InstrumentHandlerCounter(a.requests.MustCurryWith(labels), h))
}

func (a *API) methodNotAllowed(jaeger bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		const msg = "method not allowed: use GET"
		if jaeger {
			writeJaegerError(w, http.StatusMethodNotAllowed, msg)
			return
		}
		writeError(w, http.StatusMethodNotAllowed, msg)
	}
}

// writeJSON writes v as the JSON answer with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status is sent: an encoding error (the client went away) cannot be reported.
	_ = json.NewEncoder(w).Encode(v)
}

type errorJSON struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorJSON{Error: msg})
}

// fail answers a handler's error: 400 for a bad parameter, 404 for an unknown trace, and 500
// for anything else, which is logged (once, here).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error, jaeger bool) {
	status, msg := http.StatusInternalServerError, "internal error: span store query failed"
	switch {
	case isParamError(err):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, spanstore.ErrNotFound):
		status, msg = http.StatusNotFound, "trace not found"
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer and it is no server failure.
		a.logger.Debug("query canceled by client", "route", r.Pattern)
	default:
		a.logger.Error("query span store", "route", r.Pattern, "err", err)
	}
	if jaeger {
		writeJaegerError(w, status, msg)
		return
	}
	writeError(w, status, msg)
}
