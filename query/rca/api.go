package rca

import (
	"context"
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

func (a *API) serveRCA(w http.ResponseWriter, r *http.Request) {
	if !httpparam.AllowGet(w, r) {
		return
	}
	start, end, err := httpparam.ParseWindow(r.URL.Query(), a.now(), a.engine.cfg.DefaultWindow)
	if err != nil {
		httpparam.WriteError(w, http.StatusBadRequest, err.Error())
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
		httpparam.WriteError(w, code, err.Error())
		return
	}
	httpparam.WriteJSON(w, http.StatusOK, res)
}

func (a *API) serveIncidents(w http.ResponseWriter, r *http.Request) {
	if !httpparam.AllowGet(w, r) {
		return
	}
	q := r.URL.Query()
	start, end, err := httpparam.ParseWindow(q, a.now(), defaultIncidentWindow)
	if err != nil {
		httpparam.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := defaultIncidentLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxIncidentLimit {
			httpparam.WriteError(w, http.StatusBadRequest, "limit: want an integer from 1 to "+strconv.Itoa(maxIncidentLimit)+", got "+strconv.Quote(s))
			return
		}
		limit = n
	}
	if a.tracker == nil {
		httpparam.WriteError(w, http.StatusServiceUnavailable, "incidents are off (-rca.evaluation-interval=0)")
		return
	}
	httpparam.WriteJSON(w, http.StatusOK, struct {
		Incidents []Incident `json:"incidents"`
	}{a.tracker.List(start, end, limit)})
}
