// Package logs serves GET /api/v1/logs: log records from the log store, newest first,
// filtered by time, service, host, severity, trace ID and free text.
package logs

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/faultline/faultline/internal/httpparam"
	"github.com/faultline/faultline/internal/logstore"
)

// Limits of one request.
const (
	DefaultLimit = 100
	MaxLimit     = 5000
)

// Searcher is the part of the log store the API reads.
type Searcher interface {
	Search(ctx context.Context, q logstore.Query) ([]logstore.Record, error)
}

// API answers log searches.
type API struct {
	store         Searcher
	defaultWindow time.Duration
	logger        *slog.Logger
	now           func() time.Time
}

// NewAPI serves searches over store; without start and end a request covers the last
// defaultWindow.
func NewAPI(store Searcher, defaultWindow time.Duration, logger *slog.Logger) *API {
	return &API{store: store, defaultWindow: defaultWindow, logger: logger, now: time.Now}
}

// Line is one log record in an answer.
type Line struct {
	Time           time.Time      `json:"time"`
	Service        string         `json:"service"`
	Host           string         `json:"host"`
	Severity       string         `json:"severity"`
	SeverityNumber int32          `json:"severity_number"`
	Body           string         `json:"body"`
	TraceID        string         `json:"trace_id"`
	SpanID         string         `json:"span_id"`
	Attributes     map[string]any `json:"attributes"`
}

// ServeHTTP answers GET /api/v1/logs?q=&service=&host=&trace_id=&severity=&start=&end=&limit=.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !httpparam.AllowGet(w, r) {
		return
	}
	q, err := a.parse(r.URL.Query())
	if err != nil {
		httpparam.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := a.store.Search(r.Context(), q)
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, logstore.ErrBadText):
			code = http.StatusBadRequest
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			code = http.StatusServiceUnavailable
		default:
			a.logger.Warn("log search failed", "err", err)
		}
		httpparam.WriteError(w, code, err.Error())
		return
	}
	out := struct {
		Logs []Line `json:"logs"`
	}{Logs: make([]Line, 0, len(recs))}
	for _, rec := range recs {
		l := Line{
			Time: rec.Time.UTC(), Service: rec.Service, Host: rec.Host, Severity: rec.SeverityText,
			SeverityNumber: rec.SeverityNumber, Body: rec.Body, Attributes: rec.Attributes,
		}
		if !rec.TraceID.IsEmpty() {
			l.TraceID = rec.TraceID.String()
		}
		if !rec.SpanID.IsEmpty() {
			l.SpanID = rec.SpanID.String()
		}
		out.Logs = append(out.Logs, l)
	}
	httpparam.WriteJSON(w, http.StatusOK, out)
}

// parse reads the query parameters; every error names the parameter.
func (a *API) parse(v url.Values) (logstore.Query, error) {
	start, end, err := httpparam.ParseWindow(v, a.now(), a.defaultWindow)
	if err != nil {
		return logstore.Query{}, err
	}
	q := logstore.Query{Start: start, End: end, Service: v.Get("service"), Host: v.Get("host"), Text: v.Get("q"), Limit: DefaultLimit}
	if _, err := logstore.ParseText(q.Text); err != nil {
		return q, httpparam.BadParam("q: %v", err)
	}
	if s := v.Get("trace_id"); s != "" {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 16 {
			return q, httpparam.BadParam("trace_id: want 32 hex digits, got %q", s)
		}
		q.TraceID = pcommon.TraceID(b)
		if q.TraceID.IsEmpty() {
			return q, httpparam.BadParam("trace_id: the all-zero trace ID is not valid")
		}
	}
	if s := v.Get("severity"); s != "" {
		n, ok := logstore.ParseSeverity(s)
		if !ok {
			if i, err := strconv.ParseInt(s, 10, 32); err == nil && i >= 1 && i <= 24 {
				n, ok = int32(i), true
			}
		}
		if !ok {
			return q, httpparam.BadParam("severity: want trace, debug, info, warn, error, fatal or a number from 1 to 24, got %q", s)
		}
		q.MinSeverity = n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return q, httpparam.BadParam("limit: want an integer from 1 to %d, got %q", MaxLimit, s)
		}
		q.Limit = n
	}
	return q, nil
}
