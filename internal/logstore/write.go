package logstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

const (
	// maxBlockSpread bounds how far apart the record times inside one block may be. Search
	// relies on it: a block filed under t holds no record later than t+maxBlockSpread.
	maxBlockSpread = uint64(time.Second)
	// maxBlockBytes and maxBlockRecords bound a block's size, so that a search that needs
	// one record of a block does not decode a huge one.
	maxBlockBytes   = 256 << 10
	maxBlockRecords = 4096
)

const (
	attrServiceName = "service.name"
	attrHostName    = "host.name"
)

// writeState is the scratch space of one Write, pooled so that steady-state writes allocate
// almost nothing per record.
type writeState struct {
	res     []resourceRef
	resBuf  []byte           // encoded attributes of the resources, see resourceRef
	resByID map[string]int32 // stream(4) + encoded attributes -> first res with them
	refs    []recordRef
	records []byte // encoded records of the block being built
	val     []byte
	key     []byte
	// blockRes maps a res index to its index in the block's resource table (+1; 0: absent).
	blockRes  []int32
	blockUsed []int32
	traces    map[pcommon.TraceID]struct{}
	// Index rows are added to the batch after all data rows, each family in one run: the
	// memtable inserts a run of neighbouring keys faster than alternating families.
	serviceRows []byte // serviceKeyLen-byte key, header length byte, header
	traceRows   []byte // traceKeyLen-byte keys
	newStreams  []uint32
}

type resourceRef struct {
	rl       plog.ResourceLogs
	stream   uint32
	svc      uint32
	off, end int // attributes in resBuf
	canon    int32
}

type recordRef struct {
	time   uint64
	stream uint32
	res    int32
	scope  int32
	rec    int32
}

func newWriteState() *writeState {
	return &writeState{
		resByID: make(map[string]int32),
		traces:  make(map[pcommon.TraceID]struct{}),
	}
}

func (st *writeState) reset() {
	clear(st.res) // drop references to the caller's pdata
	st.res = st.res[:0]
	st.resBuf = st.resBuf[:0]
	clear(st.resByID)
	st.refs = st.refs[:0]
	st.serviceRows = st.serviceRows[:0]
	st.traceRows = st.traceRows[:0]
	st.newStreams = st.newStreams[:0]
}

// Write stores the records of all batches in one Pebble batch committed with pebble.Sync: when
// it returns nil they are on disk. It is safe for concurrent use.
func (s *Store) Write(ctx context.Context, lds ...plog.Logs) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.readOnly {
		return ErrReadOnly
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.life.RUnlock()
	began := time.Now()

	st := s.writers.Get().(*writeState)
	defer func() {
		st.reset()
		s.writers.Put(st)
	}()
	s.collect(st, lds, uint64(began.UnixNano()))
	if len(st.refs) == 0 {
		return nil
	}
	// Blocks hold one stream's records in time order; the original order breaks ties.
	slices.SortFunc(st.refs, func(a, b recordRef) int {
		return cmp.Or(cmp.Compare(a.stream, b.stream), cmp.Compare(a.time, b.time),
			cmp.Compare(a.res, b.res), cmp.Compare(a.scope, b.scope), cmp.Compare(a.rec, b.rec))
	})
	if cap(st.blockRes) < len(st.res) {
		st.blockRes = make([]int32, len(st.res))
	}
	st.blockRes = st.blockRes[:len(st.res)]
	clear(st.blockRes)
	st.blockUsed = st.blockUsed[:0]

	b := s.db.NewBatch()
	defer b.Close()
	for refs := st.refs; len(refs) > 0; {
		n, err := s.writeBlock(st, b, refs)
		if err != nil {
			return err
		}
		refs = refs[n:]
	}
	for rows := st.serviceRows; len(rows) > 0; {
		n := int(rows[serviceKeyLen])
		if err := b.Set(rows[:serviceKeyLen], rows[serviceKeyLen+1:serviceKeyLen+1+n], nil); err != nil {
			return fmt.Errorf("write logs: %w", err)
		}
		rows = rows[serviceKeyLen+1+n:]
	}
	for rows := st.traceRows; len(rows) > 0; rows = rows[traceKeyLen:] {
		if err := b.Set(rows[:traceKeyLen], nil, nil); err != nil {
			return fmt.Errorf("write logs: %w", err)
		}
	}
	for _, id := range st.newStreams {
		sm := s.catalog.get(id)
		if err := b.Set(metaStreamKey(sm.service, sm.host), metaStreamValue(id, sm.svc), nil); err != nil {
			return fmt.Errorf("write logs: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		s.logger.Error("log store write failed", "err", err)
		return fmt.Errorf("write logs: %w", err)
	}
	s.catalog.committed(st.newStreams)
	s.recordsStored.Add(float64(len(st.refs)))
	s.writeDuration.Observe(time.Since(began).Seconds())
	return nil
}

// collect notes every record of lds with its time and stream, and encodes each resource's
// attributes once.
func (s *Store) collect(st *writeState, lds []plog.Logs, now uint64) {
	for _, ld := range lds {
		rls := ld.ResourceLogs()
		for i := range rls.Len() {
			rl := rls.At(i)
			sls := rl.ScopeLogs()
			n := 0
			for j := range sls.Len() {
				n += sls.At(j).LogRecords().Len()
			}
			if n == 0 {
				continue
			}
			attrs := rl.Resource().Attributes()
			service, host := validUTF8(stringAttr(attrs, attrServiceName)), validUTF8(stringAttr(attrs, attrHostName))
			id, svc, persist := s.catalog.stream(service, host)
			if persist && !slices.Contains(st.newStreams, id) {
				st.newStreams = append(st.newStreams, id)
			}
			off := len(st.resBuf)
			st.resBuf = binary.BigEndian.AppendUint32(st.resBuf, id)
			st.resBuf = appendAttrs(st.resBuf, attrs, isStreamAttr, 0)
			res := int32(len(st.res))
			canon, seen := st.resByID[string(st.resBuf[off:])]
			if !seen {
				canon = res
				st.resByID[string(st.resBuf[off:])] = res
			}
			st.res = append(st.res, resourceRef{rl: rl, stream: id, svc: svc, off: off + 4, end: len(st.resBuf), canon: canon})
			for j := range sls.Len() {
				lrs := sls.At(j).LogRecords()
				for k := range lrs.Len() {
					lr := lrs.At(k)
					t := uint64(lr.Timestamp())
					if t == 0 {
						t = uint64(lr.ObservedTimestamp())
					}
					if t == 0 {
						t = now
					}
					st.refs = append(st.refs, recordRef{time: t, stream: id, res: res, scope: int32(j), rec: int32(k)})
				}
			}
		}
	}
}

func isStreamAttr(k string) bool { return k == attrServiceName || k == attrHostName }

func stringAttr(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// writeBlock encodes the longest prefix of refs that fits one block (one stream, at most
// maxBlockSpread apart, bounded in size), adds its data and index rows, and returns how many
// records it took.
func (s *Store) writeBlock(st *writeState, b *pebble.Batch, refs []recordRef) (int, error) {
	ref := blockRef{minTime: refs[0].time, stream: refs[0].stream, seq: s.seq.Add(1)}
	svc := st.res[refs[0].res].svc
	var h blockHeader
	rec := st.records[:0]
	clear(st.traces)
	for _, r := range st.blockUsed {
		st.blockRes[r] = 0
	}
	st.blockUsed = st.blockUsed[:0]
	n := 0
	for ; n < len(refs); n++ {
		r := refs[n]
		if r.stream != ref.stream || r.time-ref.minTime > maxBlockSpread ||
			n == maxBlockRecords || len(rec) >= maxBlockBytes {
			break
		}
		canon := st.res[r.res].canon
		if st.blockRes[canon] == 0 {
			st.blockUsed = append(st.blockUsed, canon)
			st.blockRes[canon] = int32(len(st.blockUsed))
		}
		lr := st.res[r.res].rl.ScopeLogs().At(int(r.scope)).LogRecords().At(int(r.rec))
		sev, text := recordSeverity(int32(lr.SeverityNumber()), lr.SeverityText())
		h.sevMask |= 1 << uint(sev)
		h.maxDelta = r.time - ref.minTime

		rec = binary.AppendUvarint(rec, r.time-ref.minTime)
		flags := byte(sev)
		traceID, spanID := lr.TraceID(), lr.SpanID()
		if !traceID.IsEmpty() {
			flags |= flagTraceID
		}
		if !spanID.IsEmpty() {
			flags |= flagSpanID
		}
		rec = append(rec, flags)
		if text == severityNames[sev] {
			rec = append(rec, 0)
		} else {
			text = validUTF8(text)
			rec = binary.AppendUvarint(rec, uint64(len(text))+1)
			rec = append(rec, text...)
		}
		if !traceID.IsEmpty() {
			rec = append(rec, traceID[:]...)
			if _, ok := st.traces[traceID]; !ok {
				st.traces[traceID] = struct{}{}
				st.traceRows = appendTraceKey(st.traceRows, hourOf(ref.minTime), traceID, ref)
			}
		}
		if !spanID.IsEmpty() {
			rec = append(rec, spanID[:]...)
		}
		rec = binary.AppendUvarint(rec, uint64(st.blockRes[canon]-1))
		if body := lr.Body(); body.Type() == pcommon.ValueTypeStr {
			rec = appendString(rec, body.Str())
		} else {
			rec = appendString(rec, bodyText(body))
		}
		// Attributes go after a length; encode them in place and move them if the length
		// takes more than the one byte reserved.
		at := len(rec)
		rec = append(rec, 0)
		rec = appendAttrs(rec, lr.Attributes(), nil, 0)
		if l := len(rec) - at - 1; l < 0x80 {
			rec[at] = byte(l)
		} else {
			var lb [binary.MaxVarintLen64]byte
			w := binary.PutUvarint(lb[:], uint64(l))
			rec = append(rec, lb[:w-1]...)
			copy(rec[at+w:], rec[at+1:at+1+l])
			copy(rec[at:], lb[:w])
		}
	}
	st.records = rec
	h.count = n

	v := appendHeader(st.val[:0], h)
	hdrLen := len(v)
	v = binary.AppendUvarint(v, uint64(len(st.blockUsed)))
	for _, r := range st.blockUsed {
		attrs := st.resBuf[st.res[r].off:st.res[r].end]
		v = binary.AppendUvarint(v, uint64(len(attrs)))
		v = append(v, attrs...)
	}
	v = append(v, rec...)
	st.val = v
	st.key = appendDataKey(st.key[:0], ref)
	if err := b.Set(st.key, v, nil); err != nil {
		return 0, fmt.Errorf("write logs: %w", err)
	}
	st.serviceRows = appendServiceKey(st.serviceRows, svc, ref)
	st.serviceRows = append(st.serviceRows, byte(hdrLen)) // at most 1+10+4+10 bytes
	st.serviceRows = append(st.serviceRows, v[:hdrLen]...)
	return n, nil
}

// bodyText renders a body that is not a string: maps and slices as JSON, bytes as base64,
// scalars as their text.
func bodyText(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeEmpty {
		return ""
	}
	return v.AsString()
}
