package spanstore

import (
	"encoding/binary"
	"errors"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Key families; the layout is described in the package documentation. All integers are
// big-endian so that byte order is numeric order.
const (
	prefixData    byte = 'd' // 'd' start(8) traceID(16) seq(4)        -> OTLP TracesData chunk
	prefixTrace   byte = 'i' // 'i' traceID(16) start(8) seq(4)        -> empty
	prefixService byte = 's' // 's' svc(4) start(8) traceID(16) seq(4) -> uvarint first, uvarint last
	prefixMeta    byte = 'm' // 'm' 's' name -> svc(4); 'm' 'o' svc(4) kind(4) name -> empty

	metaService byte = 's'
	metaOp      byte = 'o'

	dataKeyLen    = 1 + 8 + 16 + 4
	traceKeyLen   = 1 + 16 + 8 + 4
	serviceKeyLen = 1 + 4 + 8 + 16 + 4
)

var errBadKey = errors.New("malformed key")

// chunkRef names one stored chunk: the spans of one trace from one Write (one run of them,
// see maxChunkSpread), filed under the earliest span start of the chunk.
type chunkRef struct {
	start uint64 // earliest span start in the chunk, Unix nanoseconds
	trace pcommon.TraceID
	seq   uint32 // distinguishes chunks of a trace written with the same start
}

func appendDataKey(b []byte, c chunkRef) []byte {
	b = append(b, prefixData)
	b = binary.BigEndian.AppendUint64(b, c.start)
	b = append(b, c.trace[:]...)
	return binary.BigEndian.AppendUint32(b, c.seq)
}

func parseDataKey(k []byte) (chunkRef, error) {
	var c chunkRef
	if len(k) != dataKeyLen || k[0] != prefixData {
		return c, errBadKey
	}
	c.start = binary.BigEndian.Uint64(k[1:])
	copy(c.trace[:], k[9:25])
	c.seq = binary.BigEndian.Uint32(k[25:])
	return c, nil
}

// dataTimeKey is the first data key at or after start; dataTimeKey(t+1) bounds keys <= t.
func dataTimeKey(start uint64) []byte {
	b := make([]byte, 0, 9)
	b = append(b, prefixData)
	return binary.BigEndian.AppendUint64(b, start)
}

func appendTraceKey(b []byte, c chunkRef) []byte {
	b = append(b, prefixTrace)
	b = append(b, c.trace[:]...)
	b = binary.BigEndian.AppendUint64(b, c.start)
	return binary.BigEndian.AppendUint32(b, c.seq)
}

func parseTraceKey(k []byte) (chunkRef, error) {
	var c chunkRef
	if len(k) != traceKeyLen || k[0] != prefixTrace {
		return c, errBadKey
	}
	copy(c.trace[:], k[1:17])
	c.start = binary.BigEndian.Uint64(k[17:])
	c.seq = binary.BigEndian.Uint32(k[25:])
	return c, nil
}

// traceKeyBounds returns the bounds of the trace-index rows of one trace.
func traceKeyBounds(id pcommon.TraceID) (lower, upper []byte) {
	lower = append([]byte{prefixTrace}, id[:]...)
	upper = append([]byte{prefixTrace}, id[:]...)
	upper = append(upper, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return lower, upper
}

func appendServiceKey(b []byte, svc uint32, c chunkRef) []byte {
	b = append(b, prefixService)
	b = binary.BigEndian.AppendUint32(b, svc)
	b = binary.BigEndian.AppendUint64(b, c.start)
	b = append(b, c.trace[:]...)
	return binary.BigEndian.AppendUint32(b, c.seq)
}

func parseServiceKey(k []byte) (svc uint32, c chunkRef, err error) {
	if len(k) != serviceKeyLen || k[0] != prefixService {
		return 0, c, errBadKey
	}
	svc = binary.BigEndian.Uint32(k[1:])
	c.start = binary.BigEndian.Uint64(k[5:])
	copy(c.trace[:], k[13:29])
	c.seq = binary.BigEndian.Uint32(k[29:])
	return svc, c, nil
}

// serviceTimeKey is the first service-index key of svc at or after start.
func serviceTimeKey(svc uint32, start uint64) []byte {
	b := make([]byte, 0, 13)
	b = append(b, prefixService)
	b = binary.BigEndian.AppendUint32(b, svc)
	return binary.BigEndian.AppendUint64(b, start)
}

// appendServiceValue records when the service's spans in the chunk start, relative to the
// chunk's start: the first and the last span start.
func appendServiceValue(b []byte, first, last uint64) []byte {
	b = binary.AppendUvarint(b, first)
	return binary.AppendUvarint(b, last)
}

func parseServiceValue(v []byte) (first, last uint64, err error) {
	first, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, 0, errBadKey
	}
	last, m := binary.Uvarint(v[n:])
	if m <= 0 || n+m != len(v) || last < first {
		return 0, 0, errBadKey
	}
	return first, last, nil
}

func metaServiceKey(name string) []byte {
	b := make([]byte, 0, 2+len(name))
	b = append(b, prefixMeta, metaService)
	return append(b, name...)
}

func metaOpKey(svc uint32, kind ptrace.SpanKind, name string) []byte {
	b := make([]byte, 0, 10+len(name))
	b = append(b, prefixMeta, metaOp)
	b = binary.BigEndian.AppendUint32(b, svc)
	b = binary.BigEndian.AppendUint32(b, uint32(int32(kind)))
	return append(b, name...)
}

// parseMetaKey decodes a metadata row: a service name and its id, or an operation.
func parseMetaKey(k, v []byte) (isService bool, svc uint32, kind ptrace.SpanKind, name string, err error) {
	if len(k) < 2 || k[0] != prefixMeta {
		return false, 0, 0, "", errBadKey
	}
	switch k[1] {
	case metaService:
		if len(v) != 4 {
			return false, 0, 0, "", errBadKey
		}
		return true, binary.BigEndian.Uint32(v), 0, string(k[2:]), nil
	case metaOp:
		if len(k) < 10 {
			return false, 0, 0, "", errBadKey
		}
		kind := int32(binary.BigEndian.Uint32(k[6:]))
		return false, binary.BigEndian.Uint32(k[2:]), ptrace.SpanKind(kind), string(k[10:]), nil
	default:
		return false, 0, 0, "", errBadKey
	}
}

// unixNanos converts a query time to the stored representation; the zero time is def.
func unixNanos(t time.Time, def uint64) uint64 {
	if t.IsZero() {
		return def
	}
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return uint64(n)
}
