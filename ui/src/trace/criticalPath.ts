// The critical path: the chain of work that determined when the trace finished, computed with
// the "last-finishing child" walk of Jaeger's critical path. Starting at a span's end, the
// cursor moves left: the child that finished last before the cursor is the one the span was
// waiting for; the gap between that child's end and the cursor is the span's own time on the
// path; the walk descends into the child (bounded by the cursor), and on returning resumes
// from the child's start. Children are clipped to their parent first (a child ending after
// its parent counts up to the parent's end; one entirely outside it is left out).
//
// Several roots (orphans) are treated as children of a virtual root that spans them all, so
// the path follows whichever of them finished last, then what ran before it.
//
// Iterative and linear apart from sorting each span's children by end: O(n log n).

export interface CPNode {
  start: number;
  end: number;
  children: readonly number[];
}

export type Segment = [number, number];

export interface CriticalPath {
  /** Per node index: the [start, end] pieces of its own time on the path, ascending; undefined when none. */
  segments: (Segment[] | undefined)[];
  /** Per node index: 1 when the walk went through the span (even if its children cover all of it). */
  onPath: Uint8Array;
}

interface Kid {
  node: number;
  s: number;
  e: number;
}

interface Frame {
  node: number;
  s: number;
  cursor: number;
  kids: Kid[];
  k: number;
}

function clippedKids(nodes: readonly CPNode[], children: readonly number[], s: number, e: number): Kid[] {
  const kids: Kid[] = [];
  for (const c of children) {
    const n = nodes[c];
    if (n === undefined) continue;
    // Entirely outside the parent: not something the parent waited for.
    if (n.start > e || n.end < s || (n.start === e && e > s) || (n.end === s && e > s)) continue;
    kids.push({ node: c, s: Math.max(n.start, s), e: Math.min(n.end, e) });
  }
  // Latest end first; on a tie the one that started earlier covers more of the parent's time.
  kids.sort((a, b) => b.e - a.e || a.s - b.s || a.node - b.node);
  return kids;
}

/** criticalPath walks from the roots (see the file comment); nodes' children must be valid indices. */
export function criticalPath(nodes: readonly CPNode[], roots: readonly number[]): CriticalPath {
  const segments: (Segment[] | undefined)[] = new Array(nodes.length);
  const onPath = new Uint8Array(nodes.length);
  if (roots.length === 0) return { segments, onPath };
  let s = Infinity;
  let e = -Infinity;
  for (const r of roots) {
    s = Math.min(s, nodes[r].start);
    e = Math.max(e, nodes[r].end);
  }
  const add = (node: number, from: number, to: number) => {
    if (node < 0 || !(to > from)) return;
    (segments[node] ??= []).push([from, to]);
  };
  const stack: Frame[] = [{ node: -1, s, cursor: e, kids: clippedKids(nodes, roots, s, e), k: 0 }];
  // A span is entered at most once (each frame's pointer only moves forward), so a corrupted
  // tree cannot loop; the guard bounds it anyway.
  let guard = nodes.length + 1;
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    while (f.k < f.kids.length && f.kids[f.k].e > f.cursor) f.k++;
    if (f.k < f.kids.length && guard-- > 0) {
      const c = f.kids[f.k++];
      if (onPath[c.node]) continue;
      add(f.node, c.e, f.cursor);
      f.cursor = c.s;
      onPath[c.node] = 1;
      stack.push({ node: c.node, s: c.s, cursor: c.e, kids: clippedKids(nodes, nodes[c.node].children, c.s, c.e), k: 0 });
    } else {
      add(f.node, f.s, f.cursor);
      stack.pop();
    }
  }
  for (let i = 0; i < segments.length; i++) {
    const list = segments[i];
    if (list === undefined) continue;
    list.reverse();
    // Adjacent pieces (around a zero-length child) read as one.
    const merged: Segment[] = [list[0]];
    for (let k = 1; k < list.length; k++) {
      const last = merged[merged.length - 1];
      if (list[k][0] <= last[1]) last[1] = Math.max(last[1], list[k][1]);
      else merged.push(list[k]);
    }
    segments[i] = merged;
  }
  return { segments, onPath };
}

/** pathTime is the total of a node's own time on the path. */
export function pathTime(segs: readonly Segment[] | undefined): number {
  let t = 0;
  if (segs) for (const [a, b] of segs) t += b - a;
  return t;
}
