// The graph's layout as data: each node's box (its shape plus its label below it), the ELK
// graph handed to the layout worker, the options (cheaper for big graphs), and the node
// centres read back from ELK's answer. Cytoscape is given the elements only with these
// positions, so no frame is ever drawn with every node piled at the origin.
import type { ElkNode, LayoutOptions } from 'elkjs/lib/elk-api';
import type { Elements } from './model';

export interface Size {
  w: number;
  h: number;
}

/** Node bodies by kind; anything else (a kind this UI does not know yet) is a small ellipse. */
const bodies: Record<string, Size> = {
  service: { w: 44, h: 28 },
  database: { w: 32, h: 34 },
  cache: { w: 36, h: 30 },
  external: { w: 38, h: 34 },
  messaging: { w: 44, h: 26 },
  uninstrumented: { w: 30, h: 30 },
};

export function bodySize(kind: string): Size {
  return bodies[kind] ?? { w: 30, h: 30 };
}

/** The label under a node: its font, the gap above it, and the widest it may be (ellipsis). */
export const label = { size: 11, gap: 4, height: 14, maxWidth: 140 };

/** Bigger graphs than this are laid out by dagre in the page (dagre.ts), smaller ones by ELK. */
export const bigGraph = 80;

/** Gaps between nodes in a layer and between layers, for either engine. */
export const layoutSpacing = { node: 20, layer: 56 };

/**
 * layoutOptions for ELK layered, callers left of callees, ELK's best stages (network simplex
 * layering, Brandes-Köpf placement: straight edges). Only graphs up to bigGraph nodes get here.
 */
export function layoutOptions(): LayoutOptions {
  return {
    'elk.algorithm': 'layered',
    'elk.direction': 'RIGHT',
    'elk.spacing.nodeNode': String(layoutSpacing.node),
    'elk.layered.spacing.nodeNodeBetweenLayers': String(layoutSpacing.layer),
    'elk.layered.spacing.edgeNodeBetweenLayers': '16',
    'elk.spacing.componentComponent': '40',
    // Cytoscape draws its own edges: the cheapest routing is enough.
    'elk.edgeRouting': 'POLYLINE',
    'elk.randomSeed': '1',
    'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  };
}

/**
 * warmUpGraph is a few nodes laid out while the page's data loads: ELK's first layout pays for
 * its classes' set-up and cold code, a third of a 200-service layout's time.
 */
export function warmUpGraph(): ElkNode {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  const pairs = [
    ['a', 'b'],
    ['a', 'c'],
    ['b', 'd'],
    ['c', 'd'],
    ['d', 'e'],
    ['e', 'b'],
    ['c', 'f'],
  ];
  return {
    id: 'root',
    layoutOptions: layoutOptions(),
    children: ids.map((id) => ({ id, width: 44, height: 46 })),
    edges: pairs.map(([s, t], i) => ({ id: `e${i}`, sources: [s], targets: [t] })),
  };
}

/**
 * elkGraph is ELK's input: one box per node (body and label), edges by index. Indexes, not
 * names, are the IDs: any service name is then fine, even one equal to another element's ID.
 */
export function elkGraph(el: Elements, measure: (text: string) => number): ElkNode {
  const index = new Map(el.nodes.map((n, i) => [n.data.id, i]));
  const children = el.nodes.map((n, i) => {
    const b = bodySize(n.data.kind);
    const lw = Math.min(label.maxWidth, Math.ceil(measure(n.data.label))) + 4;
    return { id: `n${i}`, width: Math.max(b.w, lw), height: b.h + label.gap + label.height };
  });
  const edges = el.edges.map((e, i) => ({ id: `e${i}`, sources: [`n${index.get(e.data.source)}`], targets: [`n${index.get(e.data.target)}`] }));
  return { id: 'root', layoutOptions: layoutOptions(), children, edges };
}

/** centres reads the node bodies' centres (Cytoscape positions) from ELK's answer. */
export function centres(el: Elements, laid: ElkNode): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  for (const c of laid.children ?? []) {
    const i = Number(c.id.slice(1));
    const n = el.nodes[i];
    if (!n) continue;
    const b = bodySize(n.data.kind);
    out.set(n.data.id, { x: (c.x ?? 0) + (c.width ?? b.w) / 2, y: (c.y ?? 0) + b.h / 2 });
  }
  return out;
}

export interface Bounds {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** boundsOf is the drawing's extent (the nodes' boxes, labels included) from ELK's answer. */
export function boundsOf(laid: ElkNode): Bounds {
  const b = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
  for (const c of laid.children ?? []) {
    const x = c.x ?? 0;
    const y = c.y ?? 0;
    b.x1 = Math.min(b.x1, x);
    b.y1 = Math.min(b.y1, y);
    b.x2 = Math.max(b.x2, x + (c.width ?? 0));
    b.y2 = Math.max(b.y2, y + (c.height ?? 0));
  }
  return Number.isFinite(b.x1) ? b : { x1: 0, y1: 0, x2: 0, y2: 0 };
}

/** The most a fit zooms in: a small graph is not blown up to fill the screen. */
export const maxFitZoom = 1.5;

/**
 * viewportFor is the zoom and pan that fit bounds into a width×height view with padding
 * (Cytoscape's fit, without measuring every label again).
 */
export function viewportFor(b: Bounds, width: number, height: number, padding: number, minZoom = 0.05): { zoom: number; pan: { x: number; y: number } } {
  const bw = Math.max(1, b.x2 - b.x1);
  const bh = Math.max(1, b.y2 - b.y1);
  const fit = Math.min((width - 2 * padding) / bw, (height - 2 * padding) / bh);
  const zoom = Math.min(maxFitZoom, Math.max(minZoom, Number.isFinite(fit) && fit > 0 ? fit : 1));
  return { zoom, pan: { x: width / 2 - (zoom * (b.x1 + b.x2)) / 2, y: height / 2 - (zoom * (b.y1 + b.y2)) / 2 } };
}

/** A routed edge's bends, as Cytoscape's segments take them (relative to the two centres). */
export interface Route {
  weights: number[];
  distances: number[];
}

type Point = { x: number; y: number };

/** Bends closer than this to the straight line are not worth drawing. */
const bendTolerance = 12;

/**
 * segmentsFor expresses absolute bend points relative to the line from s to t: a weight along
 * it (0 at s, 1 at t) and a signed distance across it, which is how Cytoscape places segment
 * points (edge-distances: node-position). Null when every bend is near the straight line.
 */
export function segmentsFor(s: Point, t: Point, bends: Point[]): Route | null {
  const dx = t.x - s.x;
  const dy = t.y - s.y;
  const l2 = dx * dx + dy * dy;
  if (bends.length === 0 || l2 < 1) return null;
  const l = Math.sqrt(l2);
  const weights: number[] = [];
  const distances: number[] = [];
  for (const p of bends) {
    const px = p.x - s.x;
    const py = p.y - s.y;
    weights.push((px * dx + py * dy) / l2);
    // Cytoscape's normal is (-dy, dx) / l.
    distances.push((px * -dy + py * dx) / l);
  }
  return distances.some((d) => Math.abs(d) > bendTolerance) ? { weights, distances } : null;
}

/** segmentHitsBox says whether the segment a–b passes through a box (Liang–Barsky clipping). */
export function segmentHitsBox(a: Point, b: Point, c: Point, size: Size, margin = 2): boolean {
  const x1 = c.x - size.w / 2 - margin;
  const x2 = c.x + size.w / 2 + margin;
  const y1 = c.y - size.h / 2 - margin;
  const y2 = c.y + size.h / 2 + margin;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  let t0 = 0;
  let t1 = 1;
  const edges: [number, number][] = [
    [-dx, a.x - x1],
    [dx, x2 - a.x],
    [-dy, a.y - y1],
    [dy, y2 - a.y],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return false;
  }
  return true;
}

/**
 * routes are the edges that, drawn straight, would run through a node they do not join (an
 * edge that skips a layer passes where that layer's nodes sit): those follow ELK's bends,
 * keyed by edge ID. Cytoscape draws every other edge itself, straight or curved.
 */
export function routes(el: Elements, laid: ElkNode, pos: Map<string, Point>): Map<string, Route> {
  const out = new Map<string, Route>();
  const bodies = el.nodes.map((n) => ({ id: n.data.id, c: pos.get(n.data.id), size: bodySize(n.data.kind) }));
  for (const e of laid.edges ?? []) {
    const i = Number(String(e.id).slice(1));
    const edge = el.edges[i];
    if (!edge || edge.data.source === edge.data.target) continue;
    const s = pos.get(edge.data.source);
    const t = pos.get(edge.data.target);
    if (!s || !t) continue;
    const blocked = bodies.some((b) => b.c && b.id !== edge.data.source && b.id !== edge.data.target && segmentHitsBox(s, t, b.c, b.size));
    if (!blocked) continue;
    const r = segmentsFor(s, t, (e.sections ?? []).flatMap((sec) => sec.bendPoints ?? []));
    if (r) out.set(edge.data.id, r);
  }
  return out;
}

/** gridPositions is the fallback when ELK fails: rows in the list's order. */
export function gridPositions(el: Elements): Map<string, { x: number; y: number }> {
  const cols = Math.max(1, Math.ceil(Math.sqrt(el.nodes.length * 1.6)));
  return new Map(el.nodes.map((n, i) => [n.data.id, { x: (i % cols) * 170, y: Math.floor(i / cols) * 80 }]));
}
