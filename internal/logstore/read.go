package logstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Search returns the records matching q, newest first (ties: the later-filed block first, then
// the later record in it), at most q.Limit of them (DefaultLimit when not set). A bad q.Text
// is an error wrapping ErrBadText.
//
// Candidates come newest first from the trace index (q.TraceID), the service index
// (q.Service) or the time-ordered blocks. A block is skipped on its header alone when its
// time range, its severities or the current Limit-th result rule it out; otherwise its records
// are checked one by one in place, and only a record that matches and beats the current
// Limit-th result is copied out. Because a block holds no record later than maxBlockSpread
// after the time it is filed under, the scan stops once no older block can beat the Limit-th
// result.
func (s *Store) Search(ctx context.Context, q Query) ([]Record, error) {
	tq, err := ParseText(q.Text)
	if err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	sc := &scan{
		s: s, q: q, text: tq, top: newTopRecords(limit),
		lo: unixNanos(q.Start, 0), hi: unixNanos(q.End, unixNanos(time.Now(), 0)),
		streams: s.catalog.snapshot(),
	}
	if sc.hi < sc.lo {
		return []Record{}, nil
	}
	sc.allowed = make([]bool, len(sc.streams))
	anyStream := false
	for id, st := range sc.streams {
		ok := (q.Service == "" || st.service == q.Service) && (q.Host == "" || st.host == q.Host)
		sc.allowed[id] = ok
		anyStream = anyStream || ok
	}
	if !anyStream {
		return []Record{}, nil
	}
	switch {
	case !q.TraceID.IsEmpty():
		err = sc.byTrace(ctx)
	case q.Service != "":
		svc, ok := s.catalog.service(q.Service)
		if !ok {
			return []Record{}, nil
		}
		err = sc.byService(ctx, svc)
	default:
		err = sc.byTime(ctx)
	}
	if err != nil {
		return nil, err
	}
	return sc.top.sorted(), nil
}

// scan is the state of one Search.
type scan struct {
	s       *Store
	q       Query
	text    TextQuery
	top     *topRecords
	lo, hi  uint64
	streams []stream
	allowed []bool // by stream id
	br      blockReader
	lower   []byte // scratch for the lower-cased body
	key     []byte
	blocks  int
}

// scanLo is the earliest time a block that may hold a record at or after lo is filed under.
func (sc *scan) scanLo() uint64 { return sc.lo - min(sc.lo, maxBlockSpread) }

// done reports whether no block filed at or before t can hold a result any more.
func (sc *scan) done(t uint64) bool {
	return sc.top.full() && satAdd(t, maxBlockSpread) < sc.top.worstTime()
}

func (sc *scan) streamAllowed(id uint32) bool {
	return int(id) < len(sc.allowed) && sc.allowed[id]
}

// tick checks for cancellation every 256 blocks.
func (sc *scan) tick(ctx context.Context) error {
	if sc.blocks++; sc.blocks%256 == 0 {
		return ctx.Err()
	}
	return nil
}

// skipHeader reports whether a block cannot hold a result, from its header alone.
func (sc *scan) skipHeader(ref blockRef, h blockHeader) bool {
	last := satAdd(ref.minTime, h.maxDelta)
	return last < sc.lo || ref.minTime > sc.hi || !h.mayHaveSeverity(sc.q.MinSeverity) ||
		(sc.top.full() && last < sc.top.worstTime())
}

// byTime walks the data rows newest first.
func (sc *scan) byTime(ctx context.Context) error {
	it, err := sc.s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: dataTimeKey(sc.scanLo()),
		UpperBound: dataTimeKey(satAdd(sc.hi, 1)),
	})
	if err != nil {
		return fmt.Errorf("search logs: %w", err)
	}
	defer it.Close()
	for valid := it.Last(); valid; valid = it.Prev() {
		if err := sc.tick(ctx); err != nil {
			return err
		}
		ref, err := parseDataKey(it.Key())
		if err != nil {
			continue
		}
		if sc.done(ref.minTime) {
			break
		}
		if !sc.streamAllowed(ref.stream) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("search logs: %w", err)
		}
		sc.block(ref, v)
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("search logs: %w", err)
	}
	return nil
}

// byService walks the service index newest first and reads the blocks its headers allow.
func (sc *scan) byService(ctx context.Context, svc uint32) error {
	it, err := sc.s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: serviceTimeKey(svc, sc.scanLo()),
		UpperBound: serviceTimeKey(svc, satAdd(sc.hi, 1)),
	})
	if err != nil {
		return fmt.Errorf("search logs: %w", err)
	}
	defer it.Close()
	for valid := it.Last(); valid; valid = it.Prev() {
		if err := sc.tick(ctx); err != nil {
			return err
		}
		ref, err := parseServiceKey(it.Key())
		if err != nil {
			continue
		}
		if sc.done(ref.minTime) {
			break
		}
		if !sc.streamAllowed(ref.stream) {
			continue
		}
		hv, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("search logs: %w", err)
		}
		if h, _, err := parseHeader(hv); err == nil && sc.skipHeader(ref, h) {
			continue
		}
		if err := sc.getBlock(ref); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("search logs: %w", err)
	}
	return nil
}

// byTrace looks the trace up in the trace index, one seek per hour bucket of the window, and
// reads its blocks newest first.
func (sc *scan) byTrace(ctx context.Context) error {
	it, err := sc.s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: traceHourKey(hourOf(sc.scanLo())),
		UpperBound: traceHourKey(hourOf(sc.hi) + 1),
	})
	if err != nil {
		return fmt.Errorf("search logs: %w", err)
	}
	var refs []blockRef
	id := sc.q.TraceID
	for h := uint64(hourOf(sc.scanLo())); h <= uint64(hourOf(sc.hi)); h++ {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, it.Close())
		}
		prefix := traceHourPrefix(uint32(h), id)
		for valid := it.SeekGE(prefix); valid && bytes.HasPrefix(it.Key(), prefix); valid = it.Next() {
			ref, err := parseTraceKey(it.Key())
			if err != nil || ref.minTime < sc.scanLo() || ref.minTime > sc.hi || !sc.streamAllowed(ref.stream) {
				continue
			}
			refs = append(refs, ref)
		}
		if h == math.MaxUint32 {
			break
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("search logs: %w", err)
	}
	slices.SortFunc(refs, func(a, b blockRef) int {
		switch {
		case b.less(a):
			return -1
		case a.less(b):
			return 1
		}
		return 0
	})
	for _, ref := range slices.Compact(refs) {
		if err := sc.tick(ctx); err != nil {
			return err
		}
		if sc.done(ref.minTime) {
			break
		}
		if err := sc.getBlock(ref); err != nil {
			return err
		}
	}
	return nil
}

// getBlock reads one block by key and checks its records; a block deleted by retention in the
// meantime is skipped.
func (sc *scan) getBlock(ref blockRef) error {
	sc.key = appendDataKey(sc.key[:0], ref)
	v, closer, err := sc.s.db.Get(sc.key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("search logs: read block: %w", err)
	}
	sc.block(ref, v)
	if err := closer.Close(); err != nil {
		return fmt.Errorf("search logs: read block: %w", err)
	}
	return nil
}

// block checks the records of one block and keeps those that make the top. A corrupt block
// is counted and skipped: it must not fail every search.
func (sc *scan) block(ref blockRef, v []byte) {
	if err := sc.br.reset(ref.minTime, v); err != nil {
		sc.s.corruptBlocks.Inc()
		return
	}
	if sc.skipHeader(ref, sc.br.header) {
		return
	}
	var r rawRecord
	for i := 0; ; i++ {
		ok, err := sc.br.next(&r)
		if err != nil {
			sc.s.corruptBlocks.Inc()
			return
		}
		if !ok {
			return
		}
		if r.time < sc.lo || r.time > sc.hi || r.severity < sc.q.MinSeverity {
			continue
		}
		if !sc.q.TraceID.IsEmpty() && !bytes.Equal(r.traceID, sc.q.TraceID[:]) {
			continue
		}
		pos := recordPos{time: r.time, block: ref, index: i}
		if !sc.top.accepts(pos) {
			continue
		}
		if !sc.text.IsZero() {
			sc.lower = appendLower(sc.lower[:0], r.body)
			if !sc.text.matchLower(sc.lower) {
				continue
			}
		}
		rec, err := sc.materialize(ref, &r)
		if err != nil {
			sc.s.corruptBlocks.Inc()
			return
		}
		sc.top.add(pos, rec)
	}
}

// materialize copies a raw record out of its block.
func (sc *scan) materialize(ref blockRef, r *rawRecord) (Record, error) {
	st := sc.streams[ref.stream]
	rec := Record{
		Time:           time.Unix(0, int64(r.time)).UTC(),
		Service:        st.service,
		Host:           st.host,
		SeverityNumber: r.severity,
		SeverityText:   r.severityText(),
		Body:           string(r.body),
		Attributes:     make(map[string]any),
	}
	copy(rec.TraceID[:], r.traceID)
	copy(rec.SpanID[:], r.spanID)
	if err := decodeAttrs(rec.Attributes, sc.br.res[r.resource]); err != nil {
		return rec, err
	}
	if err := decodeAttrs(rec.Attributes, r.attrs); err != nil {
		return rec, err
	}
	return rec, nil
}

// recordPos orders results: later time first, then later block, then later record.
type recordPos struct {
	time  uint64
	block blockRef
	index int
}

func (p recordPos) less(o recordPos) bool {
	if p.time != o.time {
		return p.time < o.time
	}
	if p.block != o.block {
		return p.block.less(o.block)
	}
	return p.index < o.index
}

// topRecords keeps the limit newest records seen: a min-heap on recordPos, the worst kept
// record at the root.
type topRecords struct {
	limit int
	pos   []recordPos
	recs  []Record
}

func newTopRecords(limit int) *topRecords {
	n := min(limit, 1024)
	return &topRecords{limit: limit, pos: make([]recordPos, 0, n), recs: make([]Record, 0, n)}
}

func (t *topRecords) full() bool { return len(t.pos) >= t.limit }

// worstTime is the time of the limit-th newest record; valid when full.
func (t *topRecords) worstTime() uint64 { return t.pos[0].time }

func (t *topRecords) accepts(p recordPos) bool { return !t.full() || t.pos[0].less(p) }

func (t *topRecords) add(p recordPos, r Record) {
	if !t.full() {
		t.pos = append(t.pos, p)
		t.recs = append(t.recs, r)
		t.up(len(t.pos) - 1)
		return
	}
	t.pos[0], t.recs[0] = p, r
	t.down(0)
}

func (t *topRecords) swap(i, j int) {
	t.pos[i], t.pos[j] = t.pos[j], t.pos[i]
	t.recs[i], t.recs[j] = t.recs[j], t.recs[i]
}

func (t *topRecords) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !t.pos[i].less(t.pos[parent]) {
			return
		}
		t.swap(i, parent)
		i = parent
	}
}

func (t *topRecords) down(i int) {
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(t.pos) && t.pos[l].less(t.pos[least]) {
			least = l
		}
		if r < len(t.pos) && t.pos[r].less(t.pos[least]) {
			least = r
		}
		if least == i {
			return
		}
		t.swap(i, least)
		i = least
	}
}

// sorted returns the kept records, newest first.
func (t *topRecords) sorted() []Record {
	idx := make([]int, len(t.pos))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case t.pos[b].less(t.pos[a]):
			return -1
		case t.pos[a].less(t.pos[b]):
			return 1
		}
		return 0
	})
	out := make([]Record, len(idx))
	for i, j := range idx {
		out[i] = t.recs[j]
	}
	return out
}
