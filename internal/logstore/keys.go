package logstore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Key families; the layout is described in the package documentation. All integers are
// big-endian so that byte order is numeric order.
const (
	prefixData    byte = 'd' // 'd' minTime(8) stream(4) seq(4)           -> block
	prefixService byte = 's' // 's' svc(4) minTime(8) stream(4) seq(4)    -> block header
	prefixTrace   byte = 't' // 't' hour(4) traceID(16) blockRef(16)      -> empty
	prefixMeta    byte = 'm' // 'm' 's' uvarint(len(service)) service host -> stream(4) svc(4)

	metaStream byte = 's'

	blockRefLen   = 8 + 4 + 4
	dataKeyLen    = 1 + blockRefLen
	serviceKeyLen = 1 + 4 + blockRefLen
	traceKeyLen   = 1 + 4 + 16 + blockRefLen
)

var errBadKey = errors.New("malformed key")

// blockRef names one stored block: records of one stream from one Write, filed under the
// earliest record time of the block.
type blockRef struct {
	minTime uint64 // Unix nanoseconds
	stream  uint32
	seq     uint32 // distinguishes blocks of a stream filed under the same time
}

// less orders blocks as their data keys sort.
func (b blockRef) less(o blockRef) bool {
	if b.minTime != o.minTime {
		return b.minTime < o.minTime
	}
	if b.stream != o.stream {
		return b.stream < o.stream
	}
	return b.seq < o.seq
}

func appendBlockRef(b []byte, r blockRef) []byte {
	b = binary.BigEndian.AppendUint64(b, r.minTime)
	b = binary.BigEndian.AppendUint32(b, r.stream)
	return binary.BigEndian.AppendUint32(b, r.seq)
}

func parseBlockRef(k []byte) blockRef {
	return blockRef{
		minTime: binary.BigEndian.Uint64(k),
		stream:  binary.BigEndian.Uint32(k[8:]),
		seq:     binary.BigEndian.Uint32(k[12:]),
	}
}

func appendDataKey(b []byte, r blockRef) []byte {
	return appendBlockRef(append(b, prefixData), r)
}

func parseDataKey(k []byte) (blockRef, error) {
	if len(k) != dataKeyLen || k[0] != prefixData {
		return blockRef{}, errBadKey
	}
	return parseBlockRef(k[1:]), nil
}

// dataTimeKey is the first data key at or after t; dataTimeKey(t+1) bounds keys <= t.
func dataTimeKey(t uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixData}, t)
}

func appendServiceKey(b []byte, svc uint32, r blockRef) []byte {
	b = binary.BigEndian.AppendUint32(append(b, prefixService), svc)
	return appendBlockRef(b, r)
}

func parseServiceKey(k []byte) (blockRef, error) {
	if len(k) != serviceKeyLen || k[0] != prefixService {
		return blockRef{}, errBadKey
	}
	return parseBlockRef(k[5:]), nil
}

// serviceTimeKey is the first service-index key of svc at or after t.
func serviceTimeKey(svc uint32, t uint64) []byte {
	b := binary.BigEndian.AppendUint32([]byte{prefixService}, svc)
	return binary.BigEndian.AppendUint64(b, t)
}

// hourOf is the trace-index bucket of a block filed under t.
func hourOf(t uint64) uint32 {
	h := t / uint64(time.Hour)
	if h > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(h)
}

func appendTraceKey(b []byte, hour uint32, id pcommon.TraceID, r blockRef) []byte {
	b = binary.BigEndian.AppendUint32(append(b, prefixTrace), hour)
	b = append(b, id[:]...)
	return appendBlockRef(b, r)
}

// traceHourPrefix is the prefix of the trace-index rows of one trace in one hour bucket.
func traceHourPrefix(hour uint32, id pcommon.TraceID) []byte {
	b := binary.BigEndian.AppendUint32([]byte{prefixTrace}, hour)
	return append(b, id[:]...)
}

// traceHourKey is the first trace-index key of hour bucket h.
func traceHourKey(hour uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixTrace}, hour)
}

func parseTraceKey(k []byte) (blockRef, error) {
	if len(k) != traceKeyLen || k[0] != prefixTrace {
		return blockRef{}, errBadKey
	}
	return parseBlockRef(k[1+4+16:]), nil
}

func metaStreamKey(service, host string) []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(service)+len(host))
	b = append(b, prefixMeta, metaStream)
	b = binary.AppendUvarint(b, uint64(len(service)))
	b = append(b, service...)
	return append(b, host...)
}

func metaStreamValue(stream, svc uint32) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 8), stream)
	return binary.BigEndian.AppendUint32(b, svc)
}

// parseMetaStream decodes a stream catalog row.
func parseMetaStream(k, v []byte) (service, host string, stream, svc uint32, err error) {
	if len(k) < 3 || k[0] != prefixMeta || k[1] != metaStream || len(v) != 8 {
		return "", "", 0, 0, errBadKey
	}
	n, w := binary.Uvarint(k[2:])
	if w <= 0 || n > uint64(len(k)-2-w) {
		return "", "", 0, 0, errBadKey
	}
	rest := k[2+w:]
	return string(rest[:n]), string(rest[n:]), binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:]), nil
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

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
