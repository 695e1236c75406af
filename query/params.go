package query

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/faultline/faultline/internal/httpparam"
	"github.com/faultline/faultline/internal/spanstore"
)

// defaultSearchLimit is the number of traces a search returns when the request gives no limit.
const defaultSearchLimit = spanstore.DefaultLimit

// Shared with the other APIs; see internal/httpparam.
var (
	badParam            = httpparam.BadParam
	isParamError        = httpparam.IsParamError
	parseTime           = httpparam.ParseTime
	parseDuration       = httpparam.ParseDuration
	parseDecimalSeconds = httpparam.ParseDecimalSeconds
	maxTime             = httpparam.MaxTime
)

// parseTraceID reads a trace ID as 32 hex digits, or as 16 (a 64-bit Jaeger or Zipkin ID,
// left-padded with zeros as Jaeger does), in either case. The all-zero ID is invalid.
func parseTraceID(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	switch len(s) {
	case 32:
		if _, err := hex.Decode(id[:], []byte(s)); err != nil {
			return id, badParam("trace_id: %q is not hexadecimal", s)
		}
	case 16:
		if _, err := hex.Decode(id[8:], []byte(s)); err != nil {
			return id, badParam("trace_id: %q is not hexadecimal", s)
		}
	default:
		return id, badParam("trace_id: %q must be 32 hex digits (or 16)", s)
	}
	if id.IsEmpty() {
		return id, badParam("trace_id: must not be all zeros")
	}
	return id, nil
}

// parseQueryString reads the request's query string, refusing a malformed one rather than
// silently dropping the parameters it cannot read.
func parseQueryString(r *http.Request) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badParam("query string: %v", err)
	}
	return v, nil
}

// parseTraceQuery reads the parameters of GET /api/v1/traces. Empty values count as absent
// and unknown parameters are ignored; a repeated single-valued parameter takes its first value.
// attr may repeat (all must match); the same key with two values is refused, as no span could
// match. maxDuration=0 is refused rather than read as "no upper bound". Without limit, the
// store's default (20, or MaxLimit if lower) applies.
func parseTraceQuery(v url.Values, now time.Time, cfg Config) (spanstore.Query, error) {
	q := spanstore.Query{
		Service:   v.Get("service"),
		Operation: v.Get("operation"),
		Limit:     cfg.defaultLimit(),
	}
	for _, kv := range v["attr"] {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return q, badParam("attr: %q must be key=value with a non-empty key", kv)
		}
		if q.Attributes == nil {
			q.Attributes = make(map[string]string)
		}
		if prev, dup := q.Attributes[k]; dup && prev != val {
			return q, badParam("attr: key %q is given twice with different values", k)
		}
		q.Attributes[k] = val
	}
	switch s := v.Get("status"); s {
	case "", "error", "ok":
		q.Status = s
	default:
		return q, badParam("status: %q must be error or ok", s)
	}
	var err error
	if s := v.Get("minDuration"); s != "" {
		if q.MinDuration, err = parseDuration("minDuration", s); err != nil {
			return q, err
		}
	}
	if s := v.Get("maxDuration"); s != "" {
		if q.MaxDuration, err = parseDuration("maxDuration", s); err != nil {
			return q, err
		}
		if q.MaxDuration == 0 {
			return q, badParam("maxDuration: must be positive")
		}
		if q.MinDuration > q.MaxDuration {
			return q, badParam("minDuration (%s) must not be greater than maxDuration (%s)", q.MinDuration, q.MaxDuration)
		}
	}
	if q.Start, q.End, err = parseTimeRange(v.Get("start"), v.Get("end"), now, cfg.DefaultLookback); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, badParam("limit: %q is not an integer", s)
		}
		if n < 1 || n > cfg.MaxLimit {
			return q, badParam("limit: %d is not between 1 and %d", n, cfg.MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// parseTimeRange reads start and end (RFC 3339 or Unix seconds). A missing end is now; a
// missing start is end minus lookback.
func parseTimeRange(startParam, endParam string, now time.Time, lookback time.Duration) (start, end time.Time, err error) {
	end = now.UTC()
	if endParam != "" {
		if end, err = parseTime("end", endParam); err != nil {
			return start, end, err
		}
	}
	if startParam != "" {
		if start, err = parseTime("start", startParam); err != nil {
			return start, end, err
		}
	} else {
		start = end.Add(-lookback)
		if start.Before(time.Unix(0, 0)) {
			start = time.Unix(0, 0).UTC()
		}
	}
	if start.After(end) {
		return start, end, badParam("start (%s) must not be after end (%s)", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	return start, end, nil
}
