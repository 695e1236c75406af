package topology

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// ParamError is a bad request parameter; the handler answers it with 400 and its message.
type ParamError struct {
	msg string
}

func (e *ParamError) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &ParamError{msg: fmt.Sprintf(format, args...)}
}

// IsParamError reports whether err is a bad parameter (400) rather than a failure (500).
func IsParamError(err error) bool {
	var pe *ParamError
	return errors.As(err, &pe)
}

// maxTime is the latest time whose Unix nanoseconds fit an int64 (2262-04-11).
var maxTime = time.Unix(0, math.MaxInt64).UTC()

// ParseWindow reads the start and end parameters of a topology request. Either may be RFC 3339
// or Unix seconds (integer or fractional); end defaults to now and start to end minus
// defaultWindow (not before 1970). Start must be before end; both must lie between 1970 and
// 2262.
func ParseWindow(q url.Values, now time.Time, defaultWindow time.Duration) (start, end time.Time, err error) {
	end = now
	if s := q.Get("end"); s != "" {
		if end, err = parseTime("end", s); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	start = end.Add(-defaultWindow)
	if epoch := time.Unix(0, 0); start.Before(epoch) {
		start = epoch
	}
	if s := q.Get("start"); s != "" {
		if start, err = parseTime("start", s); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, badParam("start (%s) must be before end (%s)", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	return start, end, nil
}

// parseTime reads a time as RFC 3339 (with or without fractional seconds) or as Unix seconds,
// integer or fractional, exact to the nanosecond.
func parseTime(name, s string) (time.Time, error) {
	var t time.Time
	if nanos, ok := parseDecimalSeconds(s); ok {
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

// parseDecimalSeconds reads "[-]digits[.digits]" as nanoseconds. ok is false when s is not of
// that form or does not fit an int64 of nanoseconds; digits beyond nanoseconds are dropped.
func parseDecimalSeconds(s string) (nanos int64, ok bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return 0, false
	}
	var secs int64
	for _, c := range []byte(intPart) {
		if c < '0' || c > '9' {
			return 0, false
		}
		if secs > (math.MaxInt64/int64(time.Second)-9)/10 {
			return 0, false
		}
		secs = secs*10 + int64(c-'0')
	}
	var sub int64
	for i, c := range []byte(frac) {
		if c < '0' || c > '9' {
			return 0, false
		}
		if i < 9 {
			sub = sub*10 + int64(c-'0')
		}
	}
	for i := len(frac); i < 9; i++ {
		sub *= 10
	}
	nanos = secs*int64(time.Second) + sub
	if nanos < 0 {
		return 0, false
	}
	if neg {
		nanos = -nanos
	}
	return nanos, true
}
