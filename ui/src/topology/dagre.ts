// Big graphs are laid out by dagre (Cytoscape's usual layered layout) rather than by ELK: on a
// 200-service graph ELK's start-up alone (1.4 MB of script to compile, then a cold first
// layout) takes longer than dagre's whole layout, and on two cores its worker slows the page
// down while it compiles. dagre runs in a small worker of its own, so that React draws the
// page meanwhile; its answer comes back in ELK's shape (boxes' top-left corners), so the rest
// of the page reads either.
import { Graph, layout } from '@dagrejs/dagre';
import type { ElkNode } from 'elkjs/lib/elk-api';
import { boundsOf, layoutSpacing } from './layout';

type Box = { id: string; width: number; height: number };
type Laid = { at: Map<string, { x: number; y: number }>; width: number; height: number };

/** The gap between separately laid-out parts of the graph (as ELK's componentComponent). */
export const componentGap = 40;

/**
 * dagreLayout lays out ELK's input graph (boxes and edges) left to right. dagre would put every
 * part of a graph that is not connected to the rest into the same columns (a hundred services
 * without calls would make one column a hundred tall), so each connected part is laid out on
 * its own and the parts are packed in rows, the biggest first, as ELK does.
 */
export function dagreLayout(g: ElkNode): ElkNode {
  const boxes: Box[] = (g.children ?? []).map((c) => ({ id: c.id, width: c.width ?? 0, height: c.height ?? 0 }));
  const edges = (g.edges ?? []).map((e) => [e.sources[0], e.targets[0]] as const);
  const parts = components(boxes, edges).map((part) => layOut(part, edges));
  const at = pack(parts);
  return {
    ...g,
    children: (g.children ?? []).map((c) => ({ ...c, ...(at.get(c.id) ?? { x: 0, y: 0 }) })),
  };
}

/** components splits the boxes into connected parts (edges in either direction), biggest first. */
export function components(boxes: Box[], edges: readonly (readonly [string, string])[]): Box[][] {
  const parent = new Map(boxes.map((b) => [b.id, b.id]));
  const find = (id: string): string => {
    let r = id;
    while (parent.get(r) !== r) r = parent.get(r)!;
    for (let x = id; x !== r; ) {
      const next = parent.get(x)!;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  for (const [a, b] of edges) {
    if (!parent.has(a) || !parent.has(b)) continue;
    parent.set(find(a), find(b));
  }
  const parts = new Map<string, Box[]>();
  for (const b of boxes) {
    const r = find(b.id);
    const p = parts.get(r);
    if (p) p.push(b);
    else parts.set(r, [b]);
  }
  return [...parts.values()].sort((x, y) => y.length - x.length);
}

function layOut(part: Box[], edges: readonly (readonly [string, string])[]): Laid {
  if (part.length === 1) {
    const b = part[0];
    return { at: new Map([[b.id, { x: 0, y: 0 }]]), width: b.width, height: b.height };
  }
  const d = new Graph();
  // Longest-path ranking: a third of network simplex's time, and the last column then holds
  // the dependencies (databases, caches) every caller reaches.
  d.setGraph({ rankdir: 'LR', nodesep: layoutSpacing.node, ranksep: layoutSpacing.layer, edgesep: 10, ranker: 'longest-path' });
  d.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(part.map((b) => b.id));
  for (const b of part) d.setNode(b.id, { width: b.width, height: b.height });
  for (const [a, b] of edges) if (ids.has(a) && ids.has(b)) d.setEdge(a, b);
  layout(d);
  const boxes = part.map((b) => {
    const n = d.node(b.id);
    return { ...b, x: n.x - b.width / 2, y: n.y - b.height / 2 };
  });
  const { x1, y1, x2, y2 } = boundsOf({ id: '', children: boxes });
  return { at: new Map(boxes.map((b) => [b.id, { x: b.x - x1, y: b.y - y1 }])), width: x2 - x1, height: y2 - y1 };
}

/**
 * pack places the parts in rows, left to right, no row wider than the widest part or than a
 * square-ish drawing of them all (whichever is wider), and returns every box's position.
 */
export function pack(parts: Laid[]): Map<string, { x: number; y: number }> {
  const area = parts.reduce((s, p) => s + (p.width + componentGap) * (p.height + componentGap), 0);
  const rowWidth = Math.max(...parts.map((p) => p.width), Math.sqrt(area) * 1.6);
  const out = new Map<string, { x: number; y: number }>();
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const p of parts) {
    if (x > 0 && x + p.width > rowWidth) {
      x = 0;
      y += rowHeight + componentGap;
      rowHeight = 0;
    }
    for (const [id, q] of p.at) out.set(id, { x: x + q.x, y: y + q.y });
    x += p.width + componentGap;
    rowHeight = Math.max(rowHeight, p.height);
  }
  return out;
}
