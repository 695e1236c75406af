// Package logs serves GET /api/v1/logs: log records from the log store, newest first,
// filtered by time, service, host, severity, trace ID and free text.
//
// # Parameters
//
//	q          free text (logstore.ParseText): terms match whole words of the body, "quoted
//	           phrases" any part of it, -term or -"phrase" excludes; case-insensitive
//	service    exact service.name;  host: exact host.name
//	trace_id   32 hex digits, either case (all zeros is refused)
//	severity   this severity or worse: trace, debug, info, warn, error, fatal (any case, also
//	           warning, err, critical, ... and TRACE2..FATAL4) or a number from 1 to 24
//	start,end  RFC 3339 or Unix seconds; end defaults to now, start to end minus the default
//	           window (the query's default lookback, 1h); start must be before end; records
//	           with start <= time <= end are answered
//	limit      1 to 5000, default 100
//
// # Answer
//
//	{"logs": [{"time": "2026-11-22T09:58:00.123Z", "service": "checkout", "host": "web-1",
//	  "severity": "ERROR", "severity_number": 17, "body": "...",
//	  "trace_id": "<32 hex>", "span_id": "<16 hex>", "attributes": {...}}, ...]}
//
// time is RFC 3339 in UTC (as encoding/json writes a time.Time); severity is the text as sent,
// or the number's name when none was; severity_number is 0 when unknown; service and host are
// "" when the resource has none; trace_id and span_id are lower-case hex, "" when the record
// has none; attributes (record over resource) are never null and keep their types, bytes as
// base64, NaN and infinite doubles as the strings "NaN", "+Inf", "-Inf". Bodies are stored as
// valid UTF-8, so the answer is always valid JSON; escaping them for display is the UI's job.
//
// Errors are {"error": "..."}: 400 for a bad parameter (the message names it), 405 for a
// method other than GET or HEAD, 503 when the request is canceled or times out, 500 when the
// store fails (logged).
package logs

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
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
			SeverityNumber: rec.SeverityNumber, Body: rec.Body, Attributes: jsonAttributes(rec.Attributes),
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

// jsonAttributes returns attrs, never nil, with every NaN or infinite double (at any depth)
// replaced by the string "NaN", "+Inf" or "-Inf" as the trace API does: encoding/json refuses
// them, and one such attribute would otherwise cut the whole answer short.
func jsonAttributes(attrs map[string]any) map[string]any {
	if attrs == nil {
		return map[string]any{}
	}
	if !hasNonFinite(attrs) {
		return attrs
	}
	return jsonValue(attrs).(map[string]any)
}

func hasNonFinite(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x) || math.IsInf(x, 0)
	case []any:
		for _, e := range x {
			if hasNonFinite(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasNonFinite(e) {
				return true
			}
		}
	}
	return false
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "+Inf"
		case math.IsInf(x, -1):
			return "-Inf"
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	}
	return v
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
