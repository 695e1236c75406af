package spanstore

import (
	"encoding/binary"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// This file encodes OTLP protobuf (opentelemetry.proto.trace.v1.TracesData) straight from pdata
// accessors into a reused buffer. Write needs one message per (trace, Write) built from spans
// scattered over the incoming batches; copying them into a new ptrace.Traces first would allocate
// for every span, attribute and event. Chunks are decoded with ptrace.ProtoUnmarshaler, so the
// stored bytes stay standard OTLP; encode_test.go checks them against pdata's own marshaller.
//
// One deviation from a plain OTLP encoding: Span.trace_id is left out, because the trace ID is
// already in the row key; readers put it back (see restoreTraceIDs).

const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

func appendTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	b = appendTag(b, field, wireVarint)
	return binary.AppendUvarint(b, v)
}

func appendFixed64Field(b []byte, field int, v uint64) []byte {
	b = appendTag(b, field, wireFixed64)
	return binary.LittleEndian.AppendUint64(b, v)
}

func appendFixed32Field(b []byte, field int, v uint32) []byte {
	b = appendTag(b, field, wireFixed32)
	return binary.LittleEndian.AppendUint32(b, v)
}

func appendStringField(b []byte, field int, s string) []byte {
	b = appendTag(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytesField(b []byte, field int, p []byte) []byte {
	b = appendTag(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// beginMessage appends the tag of a length-delimited field and a one-byte length placeholder;
// endMessage fills the length in, moving the contents when the length needs more than one byte.
func beginMessage(b []byte, field int) ([]byte, int) {
	b = appendTag(b, field, wireBytes)
	b = append(b, 0)
	return b, len(b)
}

func endMessage(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	extra := uvarintLen(uint64(n)) - 1
	for range extra {
		b = append(b, 0)
	}
	copy(b[start+extra:], b[start:start+n])
	binary.PutUvarint(b[start-1:], uint64(n))
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendAttributes(b []byte, field int, m pcommon.Map) []byte {
	for k, v := range m.All() {
		var kv int
		b, kv = beginMessage(b, field)
		b = appendStringField(b, 1, k)
		b = appendAnyValue(b, 2, v)
		b = endMessage(b, kv)
	}
	return b
}

// appendAnyValue encodes an AnyValue. Members of its oneof are written even when they hold the
// zero value, or the type would be lost.
func appendAnyValue(b []byte, field int, v pcommon.Value) []byte {
	var start int
	b, start = beginMessage(b, field)
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = appendStringField(b, 1, v.Str())
	case pcommon.ValueTypeBool:
		var x uint64
		if v.Bool() {
			x = 1
		}
		b = appendVarintField(b, 2, x)
	case pcommon.ValueTypeInt:
		b = appendVarintField(b, 3, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		b = appendFixed64Field(b, 4, math.Float64bits(v.Double()))
	case pcommon.ValueTypeSlice:
		var arr int
		b, arr = beginMessage(b, 5)
		s := v.Slice()
		for i := range s.Len() {
			b = appendAnyValue(b, 1, s.At(i))
		}
		b = endMessage(b, arr)
	case pcommon.ValueTypeMap:
		var kvl int
		b, kvl = beginMessage(b, 6)
		b = appendAttributes(b, 1, v.Map())
		b = endMessage(b, kvl)
	case pcommon.ValueTypeBytes:
		b = appendBytesField(b, 7, v.Bytes().AsRaw())
	default: // ValueTypeEmpty: an AnyValue with no member set.
	}
	return endMessage(b, start)
}

// appendResource encodes ResourceSpans.resource (field 1) when it has any content.
func appendResource(b []byte, r pcommon.Resource) []byte {
	if r.Attributes().Len() == 0 && r.DroppedAttributesCount() == 0 {
		return b
	}
	var start int
	b, start = beginMessage(b, 1)
	b = appendAttributes(b, 1, r.Attributes())
	if n := r.DroppedAttributesCount(); n != 0 {
		b = appendVarintField(b, 2, uint64(n))
	}
	return endMessage(b, start)
}

// appendScope encodes ScopeSpans.scope (field 1) when it has any content.
func appendScope(b []byte, s pcommon.InstrumentationScope) []byte {
	if s.Name() == "" && s.Version() == "" && s.Attributes().Len() == 0 && s.DroppedAttributesCount() == 0 {
		return b
	}
	var start int
	b, start = beginMessage(b, 1)
	if s.Name() != "" {
		b = appendStringField(b, 1, s.Name())
	}
	if s.Version() != "" {
		b = appendStringField(b, 2, s.Version())
	}
	b = appendAttributes(b, 3, s.Attributes())
	if n := s.DroppedAttributesCount(); n != 0 {
		b = appendVarintField(b, 4, uint64(n))
	}
	return endMessage(b, start)
}

// appendSpan encodes one Span as ScopeSpans.spans (field 2), without its trace ID.
func appendSpan(b []byte, sp ptrace.Span) []byte {
	var start int
	b, start = beginMessage(b, 2)
	if id := sp.SpanID(); !id.IsEmpty() {
		b = appendBytesField(b, 2, id[:])
	}
	if ts := sp.TraceState().AsRaw(); ts != "" {
		b = appendStringField(b, 3, ts)
	}
	if id := sp.ParentSpanID(); !id.IsEmpty() {
		b = appendBytesField(b, 4, id[:])
	}
	if n := sp.Name(); n != "" {
		b = appendStringField(b, 5, n)
	}
	if k := sp.Kind(); k != 0 {
		b = appendVarintField(b, 6, uint64(int64(k)))
	}
	if t := sp.StartTimestamp(); t != 0 {
		b = appendFixed64Field(b, 7, uint64(t))
	}
	if t := sp.EndTimestamp(); t != 0 {
		b = appendFixed64Field(b, 8, uint64(t))
	}
	b = appendAttributes(b, 9, sp.Attributes())
	if n := sp.DroppedAttributesCount(); n != 0 {
		b = appendVarintField(b, 10, uint64(n))
	}
	events := sp.Events()
	for i := range events.Len() {
		b = appendEvent(b, events.At(i))
	}
	if n := sp.DroppedEventsCount(); n != 0 {
		b = appendVarintField(b, 12, uint64(n))
	}
	links := sp.Links()
	for i := range links.Len() {
		b = appendLink(b, links.At(i))
	}
	if n := sp.DroppedLinksCount(); n != 0 {
		b = appendVarintField(b, 14, uint64(n))
	}
	if st := sp.Status(); st.Message() != "" || st.Code() != 0 {
		var s int
		b, s = beginMessage(b, 15)
		if m := st.Message(); m != "" {
			b = appendStringField(b, 2, m)
		}
		if c := st.Code(); c != 0 {
			b = appendVarintField(b, 3, uint64(int64(c)))
		}
		b = endMessage(b, s)
	}
	if f := sp.Flags(); f != 0 {
		b = appendFixed32Field(b, 16, f)
	}
	return endMessage(b, start)
}

func appendEvent(b []byte, ev ptrace.SpanEvent) []byte {
	var start int
	b, start = beginMessage(b, 11)
	if t := ev.Timestamp(); t != 0 {
		b = appendFixed64Field(b, 1, uint64(t))
	}
	if n := ev.Name(); n != "" {
		b = appendStringField(b, 2, n)
	}
	b = appendAttributes(b, 3, ev.Attributes())
	if n := ev.DroppedAttributesCount(); n != 0 {
		b = appendVarintField(b, 4, uint64(n))
	}
	return endMessage(b, start)
}

func appendLink(b []byte, l ptrace.SpanLink) []byte {
	var start int
	b, start = beginMessage(b, 13)
	if id := l.TraceID(); !id.IsEmpty() {
		b = appendBytesField(b, 1, id[:])
	}
	if id := l.SpanID(); !id.IsEmpty() {
		b = appendBytesField(b, 2, id[:])
	}
	if ts := l.TraceState().AsRaw(); ts != "" {
		b = appendStringField(b, 3, ts)
	}
	b = appendAttributes(b, 4, l.Attributes())
	if n := l.DroppedAttributesCount(); n != 0 {
		b = appendVarintField(b, 5, uint64(n))
	}
	if f := l.Flags(); f != 0 {
		b = appendFixed32Field(b, 6, f)
	}
	return endMessage(b, start)
}

// restoreTraceIDs sets the trace ID, left out by appendSpan, on every span of td.
func restoreTraceIDs(td ptrace.Traces, id pcommon.TraceID) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				spans.At(k).SetTraceID(id)
			}
		}
	}
}
