package rca

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/faultline/faultline/internal/httpparam"
)

const (
	defaultIncidentWindow = 24 * time.Hour
	defaultIncidentLimit  = 100
	maxIncidentLimit      = 1000
)

// API serves GET /api/v1/rca and GET /api/v1/incidents.
type API struct {
	engine  *Engine
	tracker *Tracker // nil when incidents are off
	logger  *slog.Logger
	now     func() time.Time
}

// NewAPI serves the engine's analyses and the tracker's incidents (tracker may be nil).
func NewAPI(engine *Engine, tracker *Tracker, logger *slog.Logger) *API {
	return &API{engine: engine, tracker: tracker, logger: logger, now: time.Now}
}

// Register mounts the routes on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("/api/v1/rca", a.serveRCA)
	mux.HandleFunc("/api/v1/incidents", a.serveIncidents)
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing left to tell it
}

func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " not allowed"})
	return false
}

func (a *API) serveRCA(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	start, end, err := httpparam.ParseWindow(r.URL.Query(), a.now(), a.engine.cfg.DefaultWindow)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	res, err := a.engine.Analyze(r.Context(), start, end)
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case httpparam.IsParamError(err):
			code = http.StatusBadRequest
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			code = http.StatusServiceUnavailable
		default:
			a.logger.Warn("root-cause analysis failed", "start", start, "end", end, "err", err)
		}
		writeJSON(w, code, errorBody{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) serveIncidents(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	q := r.URL.Query()
	start, end, err := httpparam.ParseWindow(q, a.now(), defaultIncidentWindow)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	limit := defaultIncidentLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxIncidentLimit {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "limit: want an integer from 1 to " + strconv.Itoa(maxIncidentLimit) + ", got " + strconv.Quote(s)})
			return
		}
		limit = n
	}
	if a.tracker == nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "incidents are off (-rca.evaluation-interval=0)"})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Incidents []Incident `json:"incidents"`
	}{a.tracker.List(start, end, limit)})
}
