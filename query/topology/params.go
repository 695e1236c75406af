package topology

import (
	"net/url"
	"time"

	"github.com/faultline/faultline/internal/httpparam"
)

// ParamError is a bad request parameter; the handler answers it with 400 and its message.
type ParamError = httpparam.ParamError

var (
	badParam     = httpparam.BadParam
	parseTime    = httpparam.ParseTime
	maxTime      = httpparam.MaxTime
	IsParamError = httpparam.IsParamError // IsParamError reports a bad parameter (400) rather than a failure.
)

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
