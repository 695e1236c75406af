package query

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/faultline/faultline/internal/spanstore"
)

// defaultSearchLimit is the number of traces a search returns when the request gives no limit.
const defaultSearchLimit = spanstore.DefaultLimit

// paramError is a bad request parameter: the handlers answer it with 400 and its message,
// which names the parameter.
type paramError struct {
	msg string
}

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &paramError{msg: fmt.Sprintf(format, args...)}
}

// isParamError reports whether err is a bad parameter (400) rather than a failure (500).
func isParamError(err error) bool {
	var pe *paramError
	return errors.As(err, &pe)
}

// maxTime is the latest time whose Unix nanoseconds fit an int64 (2262-04-11).
var maxTime = time.Unix(0, math.MaxInt64).UTC()

// parseTime reads a time as RFC 3339 (with or without fractional seconds) or as Unix seconds,
// integer or fractional, kept exact to the nanosecond. Times before 1970 or after 2262 are
// refused: span timestamps are unsigned Unix nanoseconds.
func parseTime(name, s string) (time.Time, error) {
	var t time.Time
	if nanos, ok := parseDecimalSeconds(s); ok {
		if nanos < 0 {
			return time.Time{}, badParam("%s: %q is before 1970", name, s)
		}
		t = time.Unix(0, nanos).UTC()
	} else {
		var err error
		t, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, badParam("%s: %q is neither RFC 3339 nor Unix seconds", name, s)
		}
	}
	if t.Before(time.Unix(0, 0)) || t.After(maxTime) {
		return time.Time{}, badParam("%s: %q is out of range (1970 to 2262)", name, s)
	}
	return t, nil
}

// parseDuration reads a non-negative duration, Go-style ("250ms", "1h30m") or as plain
// seconds ("0.25", "3").
func parseDuration(name, s string) (time.Duration, error) {
	if nanos, ok := parseDecimalSeconds(s); ok {
		if nanos < 0 {
			return 0, badParam("%s: %q is negative", name, s)
		}
		return time.Duration(nanos), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, badParam("%s: %q is neither a Go duration (250ms) nor seconds", name, s)
	}
	if d < 0 {
		return 0, badParam("%s: %q is negative", name, s)
	}
	return d, nil
}

// parseDecimalSeconds reads [-]digits[.digits] as seconds and returns nanoseconds, exact to
// the nanosecond (further digits are cut). ok is false if s is not such a number or does not
// fit an int64 of nanoseconds.
func parseDecimalSeconds(s string) (nanos int64, ok bool) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, false
	}
	const maxSeconds = math.MaxInt64 / int64(time.Second)
	var sec int64
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || v > maxSeconds {
			return 0, false
		}
		sec = v
	}
	var fracNanos int64
	for i := range 9 {
		fracNanos *= 10
		if i < len(frac) {
			fracNanos += int64(frac[i] - '0')
		}
	}
	if sec == maxSeconds && fracNanos > math.MaxInt64%int64(time.Second) {
		return 0, false
	}
	nanos = sec*int64(time.Second) + fracNanos
	if neg {
		nanos = -nanos
	}
	return nanos, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

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
