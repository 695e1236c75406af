package rca

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/logstore"
)

// LogSearcher is the part of the log store the engine reads: a root cause's own error logs
// are evidence beside its spans.
type LogSearcher interface {
	Search(ctx context.Context, q logstore.Query) ([]logstore.Record, error)
}

const (
	severityError   = 17 // OTLP SEVERITY_NUMBER_ERROR
	maxLogsRead     = 500
	maxLogEvidence  = 3
	logMessageChars = 200
)

// logEvidence reads a root cause's error logs from a minute before it went wrong to the
// window's end and groups them by message shape (digits and hex ids masked), most frequent
// first. A log store failure costs the evidence, not the answer.
func (e *Engine) logEvidence(ctx context.Context, service string, since, end time.Time) []Evidence {
	if e.logs == nil {
		return nil
	}
	recs, err := e.logs.Search(ctx, logstore.Query{
		Start: since.Add(-time.Minute), End: end, Service: service, MinSeverity: severityError, Limit: maxLogsRead,
	})
	if err != nil {
		e.logger.Warn("read error logs for root-cause evidence", "service", service, "err", err)
		return nil
	}
	type group struct {
		example string
		count   int
		first   time.Time
		traces  []string
	}
	groups := map[string]*group{}
	for _, r := range recs {
		line, _, _ := strings.Cut(r.Body, "\n")
		line = truncateRunes(line, logMessageChars)
		g := groups[messageShape(line)]
		if g == nil {
			g = &group{}
			groups[messageShape(line)] = g
		}
		g.count++
		if g.first.IsZero() || r.Time.Before(g.first) {
			g.first, g.example = r.Time, line
		}
		if !r.TraceID.IsEmpty() && len(g.traces) < 3 {
			g.traces = append(g.traces, r.TraceID.String())
		}
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	slices.SortFunc(list, func(x, y *group) int {
		if c := cmp.Compare(y.count, x.count); c != 0 {
			return c
		}
		return x.first.Compare(y.first)
	})
	var out []Evidence
	for _, g := range list[:min(len(list), maxLogEvidence)] {
		out = append(out, Evidence{
			Type: "error_log", Entity: service, Count: g.count, Since: g.first.UTC(), Message: g.example, TraceIDs: g.traces,
			Text: fmt.Sprintf("%d error logs of %s like %q", g.count, service, g.example),
		})
	}
	return out
}

// messageShape masks what differs between two occurrences of one message: numbers and ids.
func messageShape(s string) string {
	var b strings.Builder
	inDigits := false
	for _, c := range s {
		if c >= '0' && c <= '9' || inDigits && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			if !inDigits {
				b.WriteByte('#')
			}
			inDigits = true
			continue
		}
		inDigits = false
		b.WriteRune(c)
	}
	return b.String()
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if i > n {
			return s[:i] + "…"
		}
	}
	return s
}
