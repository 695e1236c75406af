package logstore

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Block encoding (see the package documentation for where blocks live):
//
//	header:  version(1) uvarint(maxDelta) severityMask(4, little-endian) uvarint(count)
//	         -- the same bytes are the value of the block's service-index row
//	uvarint(resources) then per resource: uvarint(len) attrs
//	count records, in time order:
//	  uvarint(time - minTime)
//	  byte: severity number (bits 0-4) | has trace ID (bit 5) | has span ID (bit 6)
//	  uvarint: 0 when the severity text is the number's short name, else len(text)+1, text
//	  [trace ID (16)] [span ID (8)]
//	  uvarint(resource index)
//	  uvarint(len(body)) body
//	  uvarint(len(attrs)) attrs
//	attrs:   uvarint(n) then n times uvarint(len(key)) key value
//	value:   type(1) then: str/bytes uvarint(len) bytes | int zig-zag varint | double 8 bytes
//	         little-endian | bool nothing (the type says) | slice uvarint(n) values | map attrs
//
// The length prefixes of body and attrs let a search skip a record's attributes without
// parsing them; the header lets it skip a whole block.
const (
	blockVersion = 1

	flagTraceID = 1 << 5
	flagSpanID  = 1 << 6
	severityBit = 1<<5 - 1

	valEmpty  = 0
	valStr    = 1
	valInt    = 2
	valDouble = 3
	valFalse  = 4
	valTrue   = 5
	valBytes  = 6
	valSlice  = 7
	valMap    = 8

	// maxValueDepth bounds the nesting of attribute values: deeper values are stored as their
	// JSON text, and deeper stored data is refused as corrupt.
	maxValueDepth = 32
)

var errCorrupt = errors.New("corrupt log block")

// blockHeader is what a search needs to skip a block without decoding its records.
type blockHeader struct {
	maxDelta uint64 // latest record time minus the block's minTime
	sevMask  uint32 // bit n set: some record has severity number n
	count    int
}

func appendHeader(b []byte, h blockHeader) []byte {
	b = append(b, blockVersion)
	b = binary.AppendUvarint(b, h.maxDelta)
	b = binary.LittleEndian.AppendUint32(b, h.sevMask)
	return binary.AppendUvarint(b, uint64(h.count))
}

// parseHeader decodes a block header; n is its length.
func parseHeader(v []byte) (h blockHeader, n int, err error) {
	if len(v) < 1 || v[0] != blockVersion {
		return h, 0, errCorrupt
	}
	n = 1
	var w int
	if h.maxDelta, w = binary.Uvarint(v[n:]); w <= 0 {
		return h, 0, errCorrupt
	}
	n += w
	if len(v) < n+4 {
		return h, 0, errCorrupt
	}
	h.sevMask = binary.LittleEndian.Uint32(v[n:])
	n += 4
	count, w := binary.Uvarint(v[n:])
	if w <= 0 || count > uint64(len(v)) { // every record takes at least one byte
		return h, 0, errCorrupt
	}
	h.count = int(count)
	return h, n + w, nil
}

// mayHaveSeverity reports whether some record of the block has severity >= min.
func (h blockHeader) mayHaveSeverity(minSev int32) bool {
	if minSev <= 0 {
		return true
	}
	if minSev > maxSeverity {
		return false
	}
	return h.sevMask>>uint(minSev) != 0
}

// rawRecord is one record as a search sees it: slices into the block, nothing copied.
type rawRecord struct {
	time     uint64
	severity int32
	sevText  []byte // nil: the severity number's short name
	traceID  []byte // nil when absent
	spanID   []byte
	resource int
	body     []byte
	attrs    []byte
}

// blockReader walks the records of one block.
type blockReader struct {
	minTime uint64
	header  blockHeader
	buf     []byte
	pos     int
	read    int
	res     [][]byte // encoded attrs of each resource
}

// reset starts reading block v filed under minTime.
func (br *blockReader) reset(minTime uint64, v []byte) error {
	h, n, err := parseHeader(v)
	if err != nil {
		return err
	}
	br.minTime, br.header, br.buf, br.pos, br.read = minTime, h, v, n, 0
	br.res = br.res[:0]
	nres, err := br.uvarint()
	if err != nil || nres > uint64(len(v)) {
		return errCorrupt
	}
	for range nres {
		attrs, err := br.bytes()
		if err != nil {
			return err
		}
		br.res = append(br.res, attrs)
	}
	return nil
}

func (br *blockReader) uvarint() (uint64, error) {
	x, w := binary.Uvarint(br.buf[br.pos:])
	if w <= 0 {
		return 0, errCorrupt
	}
	br.pos += w
	return x, nil
}

func (br *blockReader) bytes() ([]byte, error) {
	n, err := br.uvarint()
	if err != nil || n > uint64(len(br.buf)-br.pos) {
		return nil, errCorrupt
	}
	b := br.buf[br.pos : br.pos+int(n)]
	br.pos += int(n)
	return b, nil
}

func (br *blockReader) fixed(n int) ([]byte, error) {
	if len(br.buf)-br.pos < n {
		return nil, errCorrupt
	}
	b := br.buf[br.pos : br.pos+n]
	br.pos += n
	return b, nil
}

// next reads the next record into r; it returns false after the last one, and an error if
// the block is corrupt (including trailing bytes after the last record).
func (br *blockReader) next(r *rawRecord) (bool, error) {
	if br.read == br.header.count {
		if br.pos != len(br.buf) {
			return false, errCorrupt
		}
		return false, nil
	}
	br.read++
	delta, err := br.uvarint()
	if err != nil || delta > br.header.maxDelta {
		return false, errCorrupt
	}
	r.time = br.minTime + delta
	if br.pos >= len(br.buf) {
		return false, errCorrupt
	}
	flags := br.buf[br.pos]
	br.pos++
	r.severity = int32(flags & severityBit)
	if r.severity > maxSeverity || flags&0x80 != 0 {
		return false, errCorrupt
	}
	tag, err := br.uvarint()
	if err != nil || tag > uint64(len(br.buf)-br.pos+1) {
		return false, errCorrupt
	}
	r.sevText = nil
	if tag > 0 {
		r.sevText = br.buf[br.pos : br.pos+int(tag-1)]
		br.pos += int(tag - 1)
	}
	r.traceID, r.spanID = nil, nil
	if flags&flagTraceID != 0 {
		if r.traceID, err = br.fixed(16); err != nil {
			return false, err
		}
	}
	if flags&flagSpanID != 0 {
		if r.spanID, err = br.fixed(8); err != nil {
			return false, err
		}
	}
	res, err := br.uvarint()
	if err != nil || res >= uint64(len(br.res)) {
		return false, errCorrupt
	}
	r.resource = int(res)
	if r.body, err = br.bytes(); err != nil {
		return false, err
	}
	if r.attrs, err = br.bytes(); err != nil {
		return false, err
	}
	return true, nil
}

// severityText returns the record's severity text.
func (r *rawRecord) severityText() string {
	if r.sevText == nil {
		return severityNames[r.severity]
	}
	return string(r.sevText)
}

// decodeAttrs adds the attributes encoded in b to m, replacing values of the same keys.
func decodeAttrs(m map[string]any, b []byte) error {
	d := valueDecoder{b: b}
	if err := d.attrs(m, 0); err != nil {
		return err
	}
	if d.pos != len(b) {
		return errCorrupt
	}
	return nil
}

type valueDecoder struct {
	b   []byte
	pos int
}

func (d *valueDecoder) uvarint() (uint64, error) {
	x, w := binary.Uvarint(d.b[d.pos:])
	if w <= 0 {
		return 0, errCorrupt
	}
	d.pos += w
	return x, nil
}

func (d *valueDecoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)-d.pos) {
		return nil, errCorrupt
	}
	b := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *valueDecoder) attrs(m map[string]any, depth int) error {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)-d.pos) { // every entry takes at least two bytes
		return errCorrupt
	}
	for range n {
		k, err := d.bytes()
		if err != nil {
			return err
		}
		v, err := d.value(depth)
		if err != nil {
			return err
		}
		m[string(k)] = v
	}
	return nil
}

func (d *valueDecoder) value(depth int) (any, error) {
	if d.pos >= len(d.b) || depth > maxValueDepth {
		return nil, errCorrupt
	}
	t := d.b[d.pos]
	d.pos++
	switch t {
	case valEmpty:
		return nil, nil
	case valStr:
		b, err := d.bytes()
		return string(b), err
	case valBytes:
		b, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case valInt:
		x, w := binary.Varint(d.b[d.pos:])
		if w <= 0 {
			return nil, errCorrupt
		}
		d.pos += w
		return x, nil
	case valDouble:
		if len(d.b)-d.pos < 8 {
			return nil, errCorrupt
		}
		x := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.pos:]))
		d.pos += 8
		return x, nil
	case valFalse:
		return false, nil
	case valTrue:
		return true, nil
	case valSlice:
		n, err := d.uvarint()
		if err != nil || n > uint64(len(d.b)-d.pos) {
			return nil, errCorrupt
		}
		out := make([]any, 0, n)
		for range n {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case valMap:
		m := make(map[string]any)
		if err := d.attrs(m, depth+1); err != nil {
			return nil, err
		}
		return m, nil
	default:
		return nil, errCorrupt
	}
}

// appendString appends a length-prefixed string, invalid UTF-8 replaced by U+FFFD so that
// every stored string can be sent as JSON as it is.
func appendString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendAttrs appends the attributes of m (skipping the keys for which skip is true; skip
// may be nil).
func appendAttrs(b []byte, m pcommon.Map, skip func(string) bool, depth int) []byte {
	n := m.Len()
	if skip != nil {
		for k := range m.All() {
			if skip(k) {
				n--
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for k, v := range m.All() {
		if skip != nil && skip(k) {
			continue
		}
		b = appendString(b, k)
		b = appendValue(b, v, depth)
	}
	return b
}

func appendValue(b []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(append(b, valStr), v.Str())
	case pcommon.ValueTypeInt:
		return binary.AppendVarint(append(b, valInt), v.Int())
	case pcommon.ValueTypeDouble:
		return binary.LittleEndian.AppendUint64(append(b, valDouble), math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return append(b, valTrue)
		}
		return append(b, valFalse)
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		b = binary.AppendUvarint(append(b, valBytes), uint64(len(raw)))
		return append(b, raw...)
	case pcommon.ValueTypeSlice:
		if depth >= maxValueDepth {
			return appendString(append(b, valStr), v.AsString())
		}
		sl := v.Slice()
		b = binary.AppendUvarint(append(b, valSlice), uint64(sl.Len()))
		for i := range sl.Len() {
			b = appendValue(b, sl.At(i), depth+1)
		}
		return b
	case pcommon.ValueTypeMap:
		if depth >= maxValueDepth {
			return appendString(append(b, valStr), v.AsString())
		}
		return appendAttrs(append(b, valMap), v.Map(), nil, depth+1)
	default:
		return append(b, valEmpty)
	}
}
