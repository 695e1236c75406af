// Node positions for an element set, computed once per set (layoutKey) and shared: the page
// asks for them as soon as the topology arrives, so the layout runs in its worker while React
// draws the page and Cytoscape starts, and the graph then picks up the same answer.
import { layoutBig } from './bigLayout';
import { layout } from './elk';
import { bigGraph, boundsOf, centres, elkGraph, gridPositions, label, routes, type Bounds, type Route } from './layout';
import { layoutKey, type Elements } from './model';

export type Positions = Map<string, { x: number; y: number }>;

export interface Laid {
  positions: Positions;
  /** The drawing's extent, labels included. */
  bounds: Bounds;
  /** Edges drawn around the nodes in their way (small graphs only: segments cost paint time). */
  routes: Map<string, Route>;
  /** True when ELK failed and the nodes are in a grid. */
  failed: boolean;
}

/** The page's font, which Cytoscape's labels are drawn in too. */
export function pageFont(): string {
  return getComputedStyle(document.body).fontFamily || 'sans-serif';
}

/** measureWith measures label widths as Cytoscape will draw them (canvas text, same font). */
export function measureWith(font: string): (text: string) => number {
  const ctx = document.createElement('canvas').getContext('2d');
  if (!ctx) return (t) => t.length * label.size * 0.6;
  ctx.font = `${label.size}px ${font}`;
  return (t) => ctx.measureText(t).width;
}

// A few recent sets: flipping focus back and forth does not lay out again.
const cache = new Map<string, Promise<Laid>>();
const cacheSize = 4;

/** positionsFor lays out an element set, or returns the layout already under way or done. */
export function positionsFor(el: Elements): Promise<Laid> {
  const key = layoutKey(el);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const g = elkGraph(el, measureWith(pageFont()));
  const p = (el.nodes.length > bigGraph ? layoutBig(g) : layout(g)).then(
    (laid): Laid => {
      const positions = centres(el, laid);
      return { positions, bounds: boundsOf(laid), routes: el.nodes.length <= bigGraph ? routes(el, laid, positions) : new Map(), failed: false };
    },
    (err: unknown): Laid => {
      // Without ELK the graph is still usable as a grid; the list beside it has everything.
      console.warn('topology: the layout failed, showing a grid', err);
      cache.delete(key);
      const positions = gridPositions(el);
      const xs = [...positions.values()].map((q) => q.x);
      const ys = [...positions.values()].map((q) => q.y);
      const bounds = { x1: Math.min(...xs) - 80, y1: Math.min(...ys) - 20, x2: Math.max(...xs) + 80, y2: Math.max(...ys) + 40 };
      return { positions, bounds, routes: new Map(), failed: true };
    },
  );
  cache.set(key, p);
  while (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  return p;
}
