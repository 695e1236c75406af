package collector

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// limitStats counts what enforcing the limits changed in one request.
type limitStats struct {
	droppedAttributes int
	droppedEvents     int
	truncatedValues   int
	invalidSpans      int
	truncatedBodies   int
}

// enforce applies the per-span limits to td in place and removes spans without a trace or
// span ID, which can be neither stored by trace nor linked.
func (l Limits) enforce(td ptrace.Traces) limitStats {
	var st limitStats
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		st.droppedAttributes += l.limitMap(rs.Resource().Attributes(), l.MaxAttributesPerSpan, &st)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(span ptrace.Span) bool {
				if span.TraceID().IsEmpty() || span.SpanID().IsEmpty() {
					st.invalidSpans++
					return true
				}
				l.limitSpan(span, &st)
				return false
			})
		}
	}
	return st
}

func (l Limits) limitSpan(span ptrace.Span, st *limitStats) {
	if n := l.limitMap(span.Attributes(), l.MaxAttributesPerSpan, st); n > 0 {
		span.SetDroppedAttributesCount(span.DroppedAttributesCount() + uint32(n))
		st.droppedAttributes += n
	}
	events := span.Events()
	if events.Len() > l.MaxEventsPerSpan {
		dropped, kept := 0, 0
		events.RemoveIf(func(ptrace.SpanEvent) bool {
			kept++
			if kept > l.MaxEventsPerSpan {
				dropped++
				return true
			}
			return false
		})
		span.SetDroppedEventsCount(span.DroppedEventsCount() + uint32(dropped))
		st.droppedEvents += dropped
	}
	for k := 0; k < events.Len(); k++ {
		ev := events.At(k)
		if n := l.limitMap(ev.Attributes(), l.MaxAttributesPerSpan, st); n > 0 {
			ev.SetDroppedAttributesCount(ev.DroppedAttributesCount() + uint32(n))
			st.droppedAttributes += n
		}
	}
	links := span.Links()
	for k := 0; k < links.Len(); k++ {
		ln := links.At(k)
		if n := l.limitMap(ln.Attributes(), l.MaxAttributesPerSpan, st); n > 0 {
			ln.SetDroppedAttributesCount(ln.DroppedAttributesCount() + uint32(n))
			st.droppedAttributes += n
		}
	}
}

// limitMap keeps the first maxEntries entries of m, cuts long strings, and returns how many
// entries it dropped.
func (l Limits) limitMap(m pcommon.Map, maxEntries int, st *limitStats) int {
	dropped := 0
	if m.Len() > maxEntries {
		kept := 0
		m.RemoveIf(func(string, pcommon.Value) bool {
			kept++
			if kept > maxEntries {
				dropped++
				return true
			}
			return false
		})
	}
	for _, v := range m.All() {
		l.limitValue(v, st)
	}
	return dropped
}

func (l Limits) limitValue(v pcommon.Value, st *limitStats) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s := v.Str(); len(s) > l.MaxAttributeValueLength {
			v.SetStr(truncateUTF8(s, l.MaxAttributeValueLength))
			st.truncatedValues++
		}
	case pcommon.ValueTypeBytes:
		if b := v.Bytes(); b.Len() > l.MaxAttributeValueLength {
			b.FromRaw(b.AsRaw()[:l.MaxAttributeValueLength])
			st.truncatedValues++
		}
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			l.limitValue(s.At(i), st)
		}
	case pcommon.ValueTypeMap:
		st.droppedAttributes += l.limitMap(v.Map(), l.MaxAttributesPerSpan, st)
	default:
	}
}

// enforceLogs applies the per-record limits to ld in place: attributes over the limit are
// dropped (and the record's dropped-attributes count raised), long string values and bodies cut.
func (l Limits) enforceLogs(ld plog.Logs) limitStats {
	var st limitStats
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		st.droppedAttributes += l.limitMap(rl.Resource().Attributes(), l.MaxAttributesPerLogRecord, &st)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				rec := recs.At(k)
				if n := l.limitMap(rec.Attributes(), l.MaxAttributesPerLogRecord, &st); n > 0 {
					rec.SetDroppedAttributesCount(rec.DroppedAttributesCount() + uint32(n))
					st.droppedAttributes += n
				}
				body := rec.Body()
				if body.Type() == pcommon.ValueTypeStr {
					if s := body.Str(); len(s) > l.MaxLogBodyBytes {
						body.SetStr(truncateUTF8(s, l.MaxLogBodyBytes))
						st.truncatedBodies++
					}
				} else {
					l.limitValue(body, &st)
				}
			}
		}
	}
	return st
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
