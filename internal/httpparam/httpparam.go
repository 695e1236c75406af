// Package httpparam parses the query parameters Faultline's HTTP APIs share (times, durations,
// windows), carries the "bad parameter" error that the handlers answer with 400, and writes
// their JSON answers.
package httpparam

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ParamError is a bad request parameter: the handlers answer it with 400 and its message,
// which names the parameter.
type ParamError struct {
	msg string
}

func (e *ParamError) Error() string { return e.msg }

func BadParam(format string, args ...any) error {
	return &ParamError{msg: fmt.Sprintf(format, args...)}
}

// IsParamError reports whether err is a bad parameter (400) rather than a failure (500).
func IsParamError(err error) bool {
	var pe *ParamError
	return errors.As(err, &pe)
}

// MaxTime is the latest time whose Unix nanoseconds fit an int64 (2262-04-11).
var MaxTime = time.Unix(0, math.MaxInt64).UTC()

// ParseTime reads a time as RFC 3339 (with or without fractional seconds) or as Unix seconds,
// integer or fractional, kept exact to the nanosecond. Times before 1970 or after 2262 are
// refused: span timestamps are unsigned Unix nanoseconds.
func ParseTime(name, s string) (time.Time, error) {
	var t time.Time
	if nanos, ok := ParseDecimalSeconds(s); ok {
		if nanos < 0 {
			return time.Time{}, BadParam("%s: %q is before 1970", name, s)
		}
		t = time.Unix(0, nanos).UTC()
	} else {
		var err error
		t, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, BadParam("%s: %q is neither RFC 3339 nor Unix seconds", name, s)
		}
	}
	if t.Before(time.Unix(0, 0)) || t.After(MaxTime) {
		return time.Time{}, BadParam("%s: %q is out of range (1970 to 2262)", name, s)
	}
	return t, nil
}

// ParseDuration reads a non-negative duration, Go-style ("250ms", "1h30m") or as plain
// seconds ("0.25", "3").
func ParseDuration(name, s string) (time.Duration, error) {
	if nanos, ok := ParseDecimalSeconds(s); ok {
		if nanos < 0 {
			return 0, BadParam("%s: %q is negative", name, s)
		}
		return time.Duration(nanos), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, BadParam("%s: %q is neither a Go duration (250ms) nor seconds", name, s)
	}
	if d < 0 {
		return 0, BadParam("%s: %q is negative", name, s)
	}
	return d, nil
}

// ParseDecimalSeconds reads [-]digits[.digits] as seconds and returns nanoseconds, exact to
// the nanosecond (further digits are cut). ok is false if s is not such a number or does not
// fit an int64 of nanoseconds.
func ParseDecimalSeconds(s string) (nanos int64, ok bool) {
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

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseWindow reads the start and end parameters of a request over a time window. Either may be RFC 3339
// or Unix seconds (integer or fractional); end defaults to now and start to end minus
// defaultWindow (not before 1970). Start must be before end; both must lie between 1970 and
// 2262.
func ParseWindow(q url.Values, now time.Time, defaultWindow time.Duration) (start, end time.Time, err error) {
	end = now
	if s := q.Get("end"); s != "" {
		if end, err = ParseTime("end", s); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	start = end.Add(-defaultWindow)
	if epoch := time.Unix(0, 0); start.Before(epoch) {
		start = epoch
	}
	if s := q.Get("start"); s != "" {
		if start, err = ParseTime("start", s); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, BadParam("start (%s) must be before end (%s)", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	return start, end, nil
}

// WriteJSON writes v as a JSON answer with the given status.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing left to tell it
}

// WriteError writes {"error": msg} with the given status.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, struct {
		Error string `json:"error"`
	}{msg})
}

// AllowGet answers 405 with Allow: GET, HEAD to any other method and reports whether the
// request may go on.
func AllowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	WriteError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
	return false
}
