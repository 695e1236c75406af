package spanstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Trace returns every stored span of the trace, or ErrNotFound.
func (s *Store) Trace(ctx context.Context, id pcommon.TraceID) (ptrace.Traces, error) {
	if err := s.acquire(); err != nil {
		return ptrace.Traces{}, err
	}
	defer s.life.RUnlock()
	td, n, err := s.loadTrace(ctx, id)
	if err != nil {
		return ptrace.Traces{}, err
	}
	if n == 0 {
		return ptrace.Traces{}, ErrNotFound
	}
	return td, nil
}

// loadTrace reads every chunk of a trace; n is the number of chunks found.
func (s *Store) loadTrace(ctx context.Context, id pcommon.TraceID) (td ptrace.Traces, n int, err error) {
	td = ptrace.NewTraces()
	lower, upper := traceKeyBounds(id)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return td, 0, fmt.Errorf("read trace: %w", err)
	}
	defer it.Close()
	var key []byte
	var um ptrace.ProtoUnmarshaler
	for valid := it.First(); valid; valid = it.Next() {
		c, err := parseTraceKey(it.Key())
		if err != nil {
			continue
		}
		key = appendDataKey(key[:0], c)
		v, closer, err := s.db.Get(key)
		if errors.Is(err, pebble.ErrNotFound) {
			continue // deleted by retention after the index row was read
		}
		if err != nil {
			return td, n, fmt.Errorf("read trace chunk: %w", err)
		}
		chunk, err := um.UnmarshalTraces(v)
		closeErr := closer.Close()
		if err != nil {
			return td, n, fmt.Errorf("decode trace chunk: %w", err)
		}
		if closeErr != nil {
			return td, n, fmt.Errorf("read trace chunk: %w", closeErr)
		}
		restoreTraceIDs(chunk, id)
		chunk.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		n++
	}
	if err := it.Error(); err != nil {
		return td, n, fmt.Errorf("read trace: %w", err)
	}
	return td, n, nil
}

// Services returns every service name seen, sorted.
func (s *Store) Services(context.Context) ([]string, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	return s.catalog.services(), nil
}

// Operations returns the operations seen for a service, sorted by name then kind.
func (s *Store) Operations(_ context.Context, service string) ([]Operation, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	return s.catalog.operations(service), nil
}

// matcher evaluates the span-level conditions of a Query.
type matcher struct {
	q      Query
	check  bool // a status condition is set
	isErr  bool // with check: the span's status must be Error (true) or must not be (false)
	lo, hi uint64
}

func newMatcher(q Query) (matcher, error) {
	m := matcher{q: q, lo: unixNanos(q.Start, 0), hi: unixNanos(q.End, math.MaxUint64)}
	switch strings.ToLower(q.Status) {
	case "":
	case "error":
		m.check, m.isErr = true, true
	case "ok":
		m.check = true
	default:
		return m, fmt.Errorf("invalid status %q: want \"\", \"ok\" or \"error\"", q.Status)
	}
	if q.MinDuration < 0 || q.MaxDuration < 0 {
		return m, errors.New("invalid duration range: durations must not be negative")
	}
	return m, nil
}

// bestStart returns the latest start of a span in td that satisfies every condition.
func (m *matcher) bestStart(td ptrace.Traces) (uint64, bool) {
	var best uint64
	found := false
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		if m.q.Service != "" && serviceName(res) != m.q.Service {
			continue
		}
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				start := uint64(sp.StartTimestamp())
				if start < m.lo || start > m.hi || (found && start <= best) {
					continue
				}
				if m.matchSpan(sp, res) {
					best, found = start, true
				}
			}
		}
	}
	return best, found
}

func (m *matcher) matchSpan(sp ptrace.Span, res pcommon.Map) bool {
	if m.q.Operation != "" && sp.Name() != m.q.Operation {
		return false
	}
	if m.check && (sp.Status().Code() == ptrace.StatusCodeError) != m.isErr {
		return false
	}
	if m.q.MinDuration > 0 || m.q.MaxDuration > 0 {
		d := spanDuration(sp)
		if d < m.q.MinDuration || (m.q.MaxDuration > 0 && d > m.q.MaxDuration) {
			return false
		}
	}
	for k, want := range m.q.Attributes {
		v, ok := sp.Attributes().Get(k)
		if !ok {
			v, ok = res.Get(k)
		}
		if !ok || v.AsString() != want {
			return false
		}
	}
	return true
}

func spanDuration(sp ptrace.Span) time.Duration {
	start, end := sp.StartTimestamp(), sp.EndTimestamp()
	if end <= start {
		return 0
	}
	return time.Duration(end - start)
}

func serviceName(res pcommon.Map) string {
	if v, ok := res.Get("service.name"); ok {
		return v.AsString()
	}
	return unknownService
}

// FindTraces returns the traces with a span matching q, newest first by that span's start.
//
// Candidates come, newest first, from the service index (when q.Service is set) or from the
// time-ordered data rows; each candidate chunk is decoded and its spans are checked. Because a
// chunk holds no span starting more than maxChunkSpread after the time it is filed under, the
// scan stops once no unread chunk can beat the Limit-th best match. Summaries are then built
// from all stored spans of the selected traces only.
func (s *Store) FindTraces(ctx context.Context, q Query) ([]TraceSummary, error) {
	m, err := newMatcher(q)
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
	if m.hi < m.lo {
		return nil, nil
	}
	scanLo := m.lo - min(m.lo, maxChunkSpread)
	useService := q.Service != ""
	var lower, upper []byte
	var svc uint32
	if useService {
		var ok bool
		if svc, ok = s.catalog.lookup(q.Service); !ok {
			return nil, nil
		}
		lower = serviceTimeKey(svc, scanLo)
		upper = append(serviceTimeKey(svc, m.hi), maxSuffix[:]...)
	} else {
		lower = dataTimeKey(scanLo)
		upper = append(dataTimeKey(m.hi), maxSuffix[:]...)
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	defer it.Close()

	top := newTopTraces(limit)
	var um ptrace.ProtoUnmarshaler
	var key []byte
	scanned := 0
	for valid := it.Last(); valid; valid = it.Prev() {
		if scanned++; scanned%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var c chunkRef
		first, last := uint64(0), maxChunkSpread
		if useService {
			if _, c, err = parseServiceKey(it.Key()); err != nil {
				continue
			}
			v, err := it.ValueAndErr()
			if err != nil {
				return nil, fmt.Errorf("find traces: %w", err)
			}
			if first, last, err = parseServiceValue(v); err != nil {
				continue
			}
		} else if c, err = parseDataKey(it.Key()); err != nil {
			continue
		}
		if top.full() && satAdd(c.start, maxChunkSpread) < top.kth() {
			break // no chunk from here on holds a span newer than the current results
		}
		if satAdd(c.start, last) < m.lo || satAdd(c.start, first) > m.hi ||
			(top.full() && satAdd(c.start, last) < top.kth()) {
			continue
		}

		var raw []byte
		var closer interface{ Close() error }
		if useService {
			key = appendDataKey(key[:0], c)
			raw, closer, err = s.db.Get(key)
			if errors.Is(err, pebble.ErrNotFound) {
				continue
			}
		} else {
			raw, err = it.ValueAndErr()
		}
		if err != nil {
			return nil, fmt.Errorf("find traces: read chunk: %w", err)
		}
		chunk, err := um.UnmarshalTraces(raw)
		if closer != nil {
			_ = closer.Close()
		}
		if err != nil {
			continue // a corrupt chunk must not fail every search
		}
		if start, ok := m.bestStart(chunk); ok {
			top.add(c.trace, start)
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}

	out := make([]TraceSummary, 0, limit)
	for _, t := range top.sorted() {
		td, n, err := s.loadTrace(ctx, t.id)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		out = append(out, summarize(t.id, td))
	}
	return out, nil
}

var maxSuffix = [16 + 4 + 1]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// topTraces keeps the best (latest) matching span start of each matched trace and knows the
// limit-th best of them.
type topTraces struct {
	limit int
	best  map[pcommon.TraceID]uint64
	k     uint64 // limit-th best start, valid when len(best) >= limit
}

type tracePick struct {
	id    pcommon.TraceID
	start uint64
}

func newTopTraces(limit int) *topTraces {
	return &topTraces{limit: limit, best: make(map[pcommon.TraceID]uint64)}
}

func (t *topTraces) full() bool  { return len(t.best) >= t.limit }
func (t *topTraces) kth() uint64 { return t.k }

func (t *topTraces) add(id pcommon.TraceID, start uint64) {
	if old, ok := t.best[id]; ok && old >= start {
		return
	}
	t.best[id] = start
	if len(t.best) < t.limit {
		return
	}
	picks := t.sorted()
	t.k = picks[len(picks)-1].start
	if len(t.best) > 4*t.limit { // forget traces that can no longer make it
		clear(t.best)
		for _, p := range picks {
			t.best[p.id] = p.start
		}
	}
}

// sorted returns the best limit traces, newest first.
func (t *topTraces) sorted() []tracePick {
	picks := make([]tracePick, 0, len(t.best))
	for id, start := range t.best {
		picks = append(picks, tracePick{id: id, start: start})
	}
	slices.SortFunc(picks, func(a, b tracePick) int {
		return cmp.Or(cmp.Compare(b.start, a.start), slices.Compare(a.id[:], b.id[:]))
	})
	if len(picks) > t.limit {
		picks = picks[:t.limit]
	}
	return picks
}

// summarize describes a trace from all of its spans.
func summarize(id pcommon.TraceID, td ptrace.Traces) TraceSummary {
	sum := TraceSummary{TraceID: id}
	var first, last, rootStart uint64
	haveRoot := false
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		svc := serviceName(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				start, end := uint64(sp.StartTimestamp()), uint64(sp.EndTimestamp())
				end = max(end, start)
				if sum.SpanCount == 0 || start < first {
					first = start
					if !haveRoot {
						sum.RootService, sum.RootOperation = svc, sp.Name()
					}
				}
				last = max(last, end)
				sum.SpanCount++
				if sp.Status().Code() == ptrace.StatusCodeError {
					sum.Error = true
				}
				if sp.ParentSpanID().IsEmpty() && (!haveRoot || start < rootStart) {
					haveRoot, rootStart = true, start
					sum.RootService, sum.RootOperation = svc, sp.Name()
				}
			}
		}
	}
	sum.Start = time.Unix(0, int64(first)).UTC()
	sum.Duration = time.Duration(last - first)
	return sum
}
