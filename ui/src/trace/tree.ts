// The trace as a tree, computed once per trace in plain TypeScript: spans ordered by start
// under their parents, depths, subtree extents (so collapsing is a skip, not a search), self
// times. Nothing here recurses, so a 10,000-deep chain does not overflow the stack.
//
// Broken input is laid out rather than refused: a span whose parent is missing (or is itself)
// becomes a root (an orphan), a duplicate span ID keeps its row (children attach to the first
// span with that ID), a parent cycle is cut at the span where the walk up re-enters it, and
// times that are missing or inverted are clamped.
import type { Span } from '../types';

export interface SpanNode {
  /** Index in TraceModel.nodes (the order of the API's answer). */
  index: number;
  span: Span;
  id: string;
  /** Milliseconds since the trace's first span started. */
  start: number;
  /** Milliseconds since the trace's first span started; never before start. */
  end: number;
  duration: number;
  /** Index of the parent node, -1 for a root. */
  parent: number;
  /** Child node indices, ordered by start. */
  children: number[];
  depth: number;
  /** Position in TraceModel.order (pre-order). */
  pos: number;
  /** Position in TraceModel.order just after this span's last descendant. */
  subtreeEnd: number;
  /** The span names a parent that is not in the trace (or its parent link was cut). */
  orphan: boolean;
  /** Another span earlier in the answer has the same span ID. */
  duplicate: boolean;
  /** The span starts before or ends after its parent (clock skew, or async work). */
  outsideParent: boolean;
  error: boolean;
  /** Duration not covered by any child (children clipped to this span). */
  selfTime: number;
}

export interface TraceModel {
  /** Epoch milliseconds of the earliest span start. */
  traceStart: number;
  /** Milliseconds from the earliest start to the latest end. */
  duration: number;
  nodes: SpanNode[];
  /** Node indices in display order: depth-first, children by start. */
  order: number[];
  /** Root node indices by start. */
  roots: number[];
  /** The first span for each span ID. */
  byId: Map<string, number>;
  /** The root the header describes: the earliest span without a parent ID, else the earliest root. */
  mainRoot: number;
  services: string[];
  errorCount: number;
  maxDepth: number;
}

/** nanosToMs reads a Unix-nanosecond time (JSON number or string) as epoch milliseconds. */
export function nanosToMs(v: string | number | undefined | null): number {
  if (v === undefined || v === null || v === '') return NaN;
  const n = typeof v === 'number' ? v : Number(v);
  return n / 1e6;
}

/** buildTree lays out a trace's spans; O(n log n) for the sort, linear otherwise. */
export function buildTree(spans: readonly Span[]): TraceModel {
  const n = spans.length;
  // Absolute times, clamped: a missing end takes start + duration_ms, an inverted end the start.
  const absStart = new Float64Array(n);
  const absEnd = new Float64Array(n);
  let traceStart = Infinity;
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    const st = nanosToMs(s.start_unix_nano);
    absStart[i] = st;
    if (Number.isFinite(st) && st < traceStart) traceStart = st;
  }
  if (!Number.isFinite(traceStart)) traceStart = 0;
  let traceEnd = traceStart;
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    let st = absStart[i];
    if (!Number.isFinite(st)) st = traceStart;
    let en = nanosToMs(s.end_unix_nano);
    if (!Number.isFinite(en)) en = st + (Number.isFinite(s.duration_ms) && s.duration_ms > 0 ? s.duration_ms : 0);
    if (en < st) en = st;
    absStart[i] = st;
    absEnd[i] = en;
    if (en > traceEnd) traceEnd = en;
  }

  const byId = new Map<string, number>();
  const nodes: SpanNode[] = new Array(n);
  const serviceSet = new Set<string>();
  let errorCount = 0;
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    const id = String(s.span_id ?? '');
    const duplicate = byId.has(id);
    if (!duplicate) byId.set(id, i);
    const error = s.status?.code === 'error';
    if (error) errorCount++;
    serviceSet.add(s.service ?? '');
    const start = absStart[i] - traceStart;
    const end = absEnd[i] - traceStart;
    nodes[i] = {
      index: i,
      span: s,
      id,
      start,
      end,
      duration: end - start,
      parent: -1,
      children: [],
      depth: 0,
      pos: -1,
      subtreeEnd: -1,
      orphan: false,
      duplicate,
      outsideParent: false,
      error,
      selfTime: 0,
    };
  }

  // Parents: the first span with the parent ID; a missing parent or a self-reference makes a root.
  for (let i = 0; i < n; i++) {
    const pid = nodes[i].span.parent_span_id;
    if (pid === undefined || pid === null || pid === '') continue;
    const p = byId.get(String(pid));
    if (p === undefined || p === i) nodes[i].orphan = true;
    else nodes[i].parent = p;
  }

  // Children lists in start order: walk the spans sorted by (start, answer order) once.
  const sorted = new Int32Array(n);
  for (let i = 0; i < n; i++) sorted[i] = i;
  sorted.sort((a, b) => nodes[a].start - nodes[b].start || a - b);
  const roots: number[] = [];
  for (const i of sorted) {
    const p = nodes[i].parent;
    if (p < 0) roots.push(i);
    else nodes[p].children.push(i);
  }

  // Pre-order walk from the roots; whatever it does not reach hangs off a parent cycle.
  const order: number[] = [];
  const visited = new Uint8Array(n);
  const stack: number[] = [];
  const walk = (root: number) => {
    stack.push(root);
    while (stack.length > 0) {
      const u = stack.pop()!;
      if (visited[u]) continue;
      visited[u] = 1;
      const node = nodes[u];
      node.pos = order.length;
      order.push(u);
      node.depth = node.parent < 0 ? 0 : nodes[node.parent].depth + 1;
      const kids = node.children;
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
    }
  };
  for (const r of roots) walk(r);
  if (order.length < n) {
    const seen = new Int32Array(n).fill(-1);
    for (const i of sorted) {
      if (visited[i]) continue;
      // Walk up until a span repeats: that span is on the cycle; cut its parent link.
      let u = i;
      while (u >= 0 && seen[u] !== i && !visited[u]) {
        seen[u] = i;
        u = nodes[u].parent;
      }
      if (u < 0 || visited[u]) continue; // cannot happen (i's ancestors are all unvisited), kept for safety
      const p = nodes[u].parent;
      nodes[p].children = nodes[p].children.filter((c) => c !== u);
      nodes[u].parent = -1;
      nodes[u].orphan = true;
      insertByStart(roots, u, nodes);
      walk(u);
    }
    // Roots were extended in start order; rebuild the display order so it follows them.
    order.length = 0;
    visited.fill(0);
    for (const r of roots) walk(r);
  }

  // Subtree extents and self times, children before parents (reverse pre-order).
  const size = new Int32Array(n).fill(1);
  let maxDepth = 0;
  for (let k = order.length - 1; k >= 0; k--) {
    const u = order[k];
    const node = nodes[u];
    if (node.parent >= 0) size[node.parent] += size[u];
    node.subtreeEnd = node.pos + size[u];
    if (node.depth > maxDepth) maxDepth = node.depth;
    node.selfTime = selfTime(node, nodes);
    if (node.parent >= 0) {
      const p = nodes[node.parent];
      node.outsideParent = node.start < p.start || node.end > p.end;
    }
  }

  let mainRoot = -1;
  for (const r of roots) {
    if (!nodes[r].orphan) {
      mainRoot = r;
      break;
    }
  }
  if (mainRoot < 0 && roots.length > 0) mainRoot = roots[0];

  return {
    traceStart: n === 0 ? 0 : traceStart,
    duration: n === 0 ? 0 : traceEnd - traceStart,
    nodes,
    order,
    roots,
    byId,
    mainRoot,
    services: [...serviceSet].sort(),
    errorCount,
    maxDepth,
  };
}

function insertByStart(list: number[], u: number, nodes: SpanNode[]): void {
  let lo = 0;
  let hi = list.length;
  const key = nodes[u].start;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = nodes[list[mid]];
    if (m.start < key || (m.start === key && list[mid] < u)) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, u);
}

/** selfTime is the span's time not covered by its children (clipped to it); children are sorted by start. */
function selfTime(node: SpanNode, nodes: SpanNode[]): number {
  let covered = 0;
  let curS = 0;
  let curE = -Infinity;
  for (const c of node.children) {
    const s = Math.max(nodes[c].start, node.start);
    const e = Math.min(nodes[c].end, node.end);
    if (e <= s) continue;
    if (s > curE) {
      if (curE > curS) covered += curE - curS;
      curS = s;
      curE = e;
    } else if (e > curE) {
      curE = e;
    }
  }
  if (curE > curS) covered += curE - curS;
  return Math.max(0, node.duration - covered);
}

/**
 * visibleRows is the display order without the descendants of collapsed spans (O(rows shown
 * plus collapsed spans), each collapsed subtree is one jump). With onlyOn, spans not marked
 * there are left out too (their descendants are still considered).
 */
export function visibleRows(model: TraceModel, isCollapsed: (node: SpanNode) => boolean, onlyOn?: Uint8Array): number[] {
  const out: number[] = [];
  const { order, nodes } = model;
  let p = 0;
  while (p < order.length) {
    const u = order[p];
    const node = nodes[u];
    if (onlyOn === undefined || onlyOn[u]) out.push(u);
    p = node.children.length > 0 && isCollapsed(node) ? node.subtreeEnd : p + 1;
  }
  return out;
}

/** ancestors lists a node's ancestors, nearest first (bounded by the node count). */
export function ancestors(model: TraceModel, u: number): number[] {
  const out: number[] = [];
  let p = model.nodes[u]?.parent ?? -1;
  while (p >= 0 && out.length < model.nodes.length) {
    out.push(p);
    p = model.nodes[p].parent;
  }
  return out;
}
