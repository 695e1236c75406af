package spanstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxChunkSpread bounds how far apart the span starts inside one chunk may be. The spans of a
// trace in one Write that start further apart are stored as several chunks. FindTraces relies
// on the bound: a chunk filed under start t holds no span starting after t+maxChunkSpread.
const maxChunkSpread = uint64(time.Second)

const unknownService = "unknown_service"

// writeState is the scratch space of one Write, pooled so that steady-state writes allocate
// almost nothing per span.
type writeState struct {
	res    []resourceRef
	refs   []spanRef
	groups []traceGroup
	byID   map[pcommon.TraceID]int32
	run    []spanRef
	ops    map[opKey]struct{}
	newOps []opKey
	newSvc []uint32
	svcs   []svcRange
	val    []byte
	key    []byte
	// Index rows are added to the batch after all data rows, each family in one run: the
	// memtable inserts a run of neighbouring keys much faster than alternating families.
	traceRows   []byte // traceKeyLen-byte keys
	serviceRows []byte // serviceKeyLen-byte key, value length byte, value
}

type resourceRef struct {
	rs  ptrace.ResourceSpans
	svc uint32
}

type spanRef struct {
	res   int32 // index into writeState.res
	ss    int32
	sp    int32
	next  int32 // next span of the same trace, -1 at the end
	start uint64
}

type traceGroup struct {
	id         pcommon.TraceID
	head, tail int32
}

type svcRange struct {
	svc         uint32
	first, last uint64
}

func newWriteState() *writeState {
	return &writeState{
		byID: make(map[pcommon.TraceID]int32),
		ops:  make(map[opKey]struct{}),
	}
}

func (st *writeState) reset() {
	clear(st.res) // drop references to the caller's pdata
	st.res = st.res[:0]
	st.refs = st.refs[:0]
	st.groups = st.groups[:0]
	clear(st.byID)
	clear(st.ops)
	clear(st.newOps)
	st.newOps = st.newOps[:0]
	st.newSvc = st.newSvc[:0]
	st.run = st.run[:0]
	st.traceRows = st.traceRows[:0]
	st.serviceRows = st.serviceRows[:0]
}

// Write stores the spans of all batches in one Pebble batch committed with pebble.Sync: when it
// returns nil they are on disk. Spans without a trace ID are skipped and counted in
// faultline_spanstore_invalid_spans_total.
func (s *Store) Write(ctx context.Context, batches ...ptrace.Traces) error {
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
	stored, invalid := s.group(st, batches)
	if invalid > 0 {
		s.invalidSpans.Add(float64(invalid))
	}
	if stored == 0 {
		return nil
	}

	b := s.db.NewBatch()
	defer b.Close()
	seq := s.seq.Add(1)
	for i := range st.groups {
		if err := s.writeTrace(st, b, &st.groups[i], seq); err != nil {
			return err
		}
	}
	for rows := st.traceRows; len(rows) > 0; rows = rows[traceKeyLen:] {
		if err := b.Set(rows[:traceKeyLen], nil, nil); err != nil {
			return fmt.Errorf("write spans: %w", err)
		}
	}
	for rows := st.serviceRows; len(rows) > 0; {
		n := int(rows[serviceKeyLen])
		if err := b.Set(rows[:serviceKeyLen], rows[serviceKeyLen+1:serviceKeyLen+1+n], nil); err != nil {
			return fmt.Errorf("write spans: %w", err)
		}
		rows = rows[serviceKeyLen+1+n:]
	}
	for _, id := range st.newSvc {
		st.key = binary.BigEndian.AppendUint32(st.key[:0], id)
		if err := b.Set(metaServiceKey(s.catalog.name(id)), st.key, nil); err != nil {
			return fmt.Errorf("write spans: %w", err)
		}
	}
	st.newOps = s.catalog.unpersistedOps(st.newOps, st.ops)
	for _, k := range st.newOps {
		if err := b.Set(metaOpKey(k.svc, k.kind, k.name), nil, nil); err != nil {
			return fmt.Errorf("write spans: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		s.logger.Error("span store write failed", "err", err)
		return fmt.Errorf("write spans: %w", err)
	}
	s.catalog.committed(st.newSvc, st.newOps)
	s.spansStored.Add(float64(stored))
	s.writeDuration.Observe(time.Since(began).Seconds())
	return nil
}

// group indexes the spans of batches by trace and notes new services and operations.
func (s *Store) group(st *writeState, batches []ptrace.Traces) (stored, invalid int) {
	var lastOp opKey
	haveLast := false
	for _, td := range batches {
		rss := td.ResourceSpans()
		for i := range rss.Len() {
			rs := rss.At(i)
			name := unknownService
			if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
				name = v.AsString()
			}
			svc, persist := s.catalog.service(name)
			if persist && !slices.Contains(st.newSvc, svc) {
				st.newSvc = append(st.newSvc, svc)
			}
			res := int32(len(st.res))
			st.res = append(st.res, resourceRef{rs: rs, svc: svc})
			sss := rs.ScopeSpans()
			for j := range sss.Len() {
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					sp := spans.At(k)
					id := sp.TraceID()
					if id.IsEmpty() {
						invalid++
						continue
					}
					stored++
					ref := int32(len(st.refs))
					st.refs = append(st.refs, spanRef{
						res: res, ss: int32(j), sp: int32(k), next: -1,
						start: uint64(sp.StartTimestamp()),
					})
					if g, ok := st.byID[id]; ok {
						st.refs[st.groups[g].tail].next = ref
						st.groups[g].tail = ref
					} else {
						st.byID[id] = int32(len(st.groups))
						st.groups = append(st.groups, traceGroup{id: id, head: ref, tail: ref})
					}
					op := opKey{svc: svc, kind: sp.Kind(), name: sp.Name()}
					if !haveLast || op != lastOp {
						st.ops[op] = struct{}{}
						lastOp, haveLast = op, true
					}
				}
			}
		}
	}
	return stored, invalid
}

// writeTrace adds the chunk rows of one trace to b: usually one chunk, several when the
// trace's spans start more than maxChunkSpread apart.
func (s *Store) writeTrace(st *writeState, b *pebble.Batch, g *traceGroup, seq uint32) error {
	st.run = st.run[:0]
	lo, hi := ^uint64(0), uint64(0)
	for r := g.head; r >= 0; r = st.refs[r].next {
		ref := st.refs[r]
		st.run = append(st.run, ref)
		lo, hi = min(lo, ref.start), max(hi, ref.start)
	}
	if hi-lo <= maxChunkSpread {
		return s.writeChunk(st, b, g.id, st.run, seq)
	}
	slices.SortStableFunc(st.run, func(a, b spanRef) int { return cmp.Compare(a.start, b.start) })
	all := st.run
	for len(all) > 0 {
		n := 1
		for n < len(all) && all[n].start-all[0].start <= maxChunkSpread {
			n++
		}
		run := all[:n]
		slices.SortFunc(run, func(a, b spanRef) int {
			return cmp.Or(cmp.Compare(a.res, b.res), cmp.Compare(a.ss, b.ss), cmp.Compare(a.sp, b.sp))
		})
		if err := s.writeChunk(st, b, g.id, run, seq); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}

// writeChunk encodes spans (in batch order, all of trace id) as one OTLP TracesData chunk and
// adds its data row and index rows to b.
func (s *Store) writeChunk(st *writeState, b *pebble.Batch, id pcommon.TraceID, spans []spanRef, seq uint32) error {
	c := chunkRef{start: ^uint64(0), trace: id, seq: seq}
	for _, ref := range spans {
		c.start = min(c.start, ref.start)
	}
	st.svcs = st.svcs[:0]
	v := st.val[:0]
	curRes, curSS := int32(-1), int32(-1)
	var rsStart, ssStart int
	var rs ptrace.ResourceSpans
	var ss ptrace.ScopeSpans
	for _, ref := range spans {
		if ref.res != curRes {
			if curSS >= 0 {
				v = endScopeSpans(v, ss, ssStart)
			}
			if curRes >= 0 {
				v = endResourceSpans(v, rs, rsStart)
			}
			curRes, curSS = ref.res, -1
			rs = st.res[ref.res].rs
			v, rsStart = beginMessage(v, 1)
			v = appendResource(v, rs.Resource())
		}
		if ref.ss != curSS {
			if curSS >= 0 {
				v = endScopeSpans(v, ss, ssStart)
			}
			curSS = ref.ss
			ss = rs.ScopeSpans().At(int(ref.ss))
			v, ssStart = beginMessage(v, 2)
			v = appendScope(v, ss.Scope())
		}
		v = appendSpan(v, ss.Spans().At(int(ref.sp)))

		svc, rel := st.res[ref.res].svc, ref.start-c.start
		found := false
		for i := range st.svcs {
			if st.svcs[i].svc == svc {
				st.svcs[i].first, st.svcs[i].last = min(st.svcs[i].first, rel), max(st.svcs[i].last, rel)
				found = true
				break
			}
		}
		if !found {
			st.svcs = append(st.svcs, svcRange{svc: svc, first: rel, last: rel})
		}
	}
	if curSS >= 0 {
		v = endScopeSpans(v, ss, ssStart)
	}
	if curRes >= 0 {
		v = endResourceSpans(v, rs, rsStart)
	}
	st.val = v

	st.key = appendDataKey(st.key[:0], c)
	if err := b.Set(st.key, v, nil); err != nil {
		return fmt.Errorf("write spans: %w", err)
	}
	st.traceRows = appendTraceKey(st.traceRows, c)
	for _, r := range st.svcs {
		st.serviceRows = appendServiceKey(st.serviceRows, r.svc, c)
		n := len(st.serviceRows)
		st.serviceRows = appendServiceValue(append(st.serviceRows, 0), r.first, r.last)
		st.serviceRows[n] = byte(len(st.serviceRows) - n - 1) // two uvarints: at most 20 bytes
	}
	return nil
}

func endScopeSpans(v []byte, ss ptrace.ScopeSpans, start int) []byte {
	if u := ss.SchemaUrl(); u != "" {
		v = appendStringField(v, 3, u)
	}
	return endMessage(v, start)
}

func endResourceSpans(v []byte, rs ptrace.ResourceSpans, start int) []byte {
	if u := rs.SchemaUrl(); u != "" {
		v = appendStringField(v, 3, u)
	}
	return endMessage(v, start)
}

// name returns the name of a service id.
func (c *catalog) name(id uint32) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.names[id]
}
