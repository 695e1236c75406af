package servicegraph

import "go.opentelemetry.io/collector/pdata/pcommon"

// pendingKey identifies a CLIENT/PRODUCER span waiting for its child, by its own span ID, or a
// SERVER/CONSUMER span waiting for its parent, by its parent span ID. Both sides of one call share
// the key.
type pendingKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

type side uint8

const (
	sideClient side = iota
	sideServer
)

// pendingSpan is what a half of a call keeps while it waits for the other half. Strings are
// pdata's own (immutable, one allocation per string, never aliased to a request buffer), so
// holding them pins no more than their bytes.
type pendingSpan struct {
	key        pendingKey
	prev, next int32 // arrival-ordered list, or next free slot
	arrived    int64 // Unix nanoseconds, on the generator's clock when the span was consumed
	side       side
	failed     bool
	service    string      // the caller's service for a client span, the callee's for a server span
	duration   float64     // seconds; client spans only (the edge duration)
	callee     calleeAttrs // client spans only: what names the callee if no child arrives
}

// pendingSet holds unpaired spans in a slab with an index and an intrusive list in arrival order,
// so that pairing, expiring the oldest and evicting are O(1) and allocate nothing once the slab
// has grown.
type pendingSet struct {
	index      map[pendingKey]int32
	slots      []pendingSpan
	free       int32 // first free slot, -1 if none
	head, tail int32 // oldest and newest, -1 if empty
}

func newPendingSet() pendingSet {
	return pendingSet{index: make(map[pendingKey]int32), free: -1, head: -1, tail: -1}
}

func (p *pendingSet) len() int { return len(p.index) }

// insert adds a span at the newest end; the caller fills the returned slot.
func (p *pendingSet) insert(key pendingKey, arrived int64) *pendingSpan {
	var i int32
	if p.free >= 0 {
		i = p.free
		p.free = p.slots[i].next
	} else {
		i = int32(len(p.slots))
		p.slots = append(p.slots, pendingSpan{})
	}
	s := &p.slots[i]
	*s = pendingSpan{key: key, prev: p.tail, next: -1, arrived: arrived}
	if p.tail >= 0 {
		p.slots[p.tail].next = i
	} else {
		p.head = i
	}
	p.tail = i
	p.index[key] = i
	return s
}

// remove unlinks slot i and frees it.
func (p *pendingSet) remove(i int32) {
	s := &p.slots[i]
	if s.prev >= 0 {
		p.slots[s.prev].next = s.next
	} else {
		p.head = s.next
	}
	if s.next >= 0 {
		p.slots[s.next].prev = s.prev
	} else {
		p.tail = s.prev
	}
	delete(p.index, s.key)
	*s = pendingSpan{next: p.free} // drop the strings
	p.free = i
}
