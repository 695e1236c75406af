// The graph's Cytoscape stylesheet, built from the page's CSS variables so that it follows the
// theme (a canvas cannot read CSS itself). Node kinds get distinct shapes, health the fill,
// the incident's roles the border, the failure path and the edges' error rates the edges'
// colour, traffic the edges' width. Everything is a selector or a data field, never a
// function per element: Cytoscape can then share computed styles, which is what keeps a
// 200-service graph fast to draw.
import type cytoscape from 'cytoscape';
import { bodySize, label } from './layout';

export const shapes: Record<string, cytoscape.Css.NodeShape> = {
  service: 'round-rectangle',
  database: 'barrel',
  cache: 'hexagon',
  external: 'diamond',
  messaging: 'rhomboid',
  uninstrumented: 'ellipse',
};

export function shapeOf(kind: string): cytoscape.Css.NodeShape {
  return shapes[kind] ?? 'ellipse';
}

/** healthVar is the CSS variable of a health ("unknown" for anything else). */
export function healthVar(h: string): string {
  return h === 'ok' || h === 'degraded' || h === 'failing' ? `--${h}` : '--unknown';
}

/** edgeVar is the CSS variable of an edge's colour: muted when healthy, else its health's. */
export function edgeVar(health: string): string {
  return health === 'degraded' || health === 'failing' ? `--${health}` : '--muted';
}

type Rule = { selector: string; style: Record<string, string | number> };

/**
 * stylesheet takes a reader of CSS variables (getComputedStyle in the page, a map in tests)
 * and the page's font. A big graph's edges are straight and unlabelled: labels would be
 * clutter, and curves (which keep A→B and B→A apart) cost a third of its first paint.
 */
export function stylesheet(v: (name: string) => string, font: string, big: boolean): cytoscape.StylesheetJson {
  const rules: Rule[] = [
    {
      selector: 'node',
      style: {
        shape: 'ellipse',
        width: 30,
        height: 30,
        'background-color': v('--unknown'),
        'border-width': 1,
        'border-color': v('--border'),
        label: 'data(label)',
        color: v('--text'),
        'font-family': font,
        'font-size': label.size,
        'text-valign': 'bottom',
        'text-margin-y': label.gap,
        'text-wrap': 'ellipsis',
        'text-max-width': `${label.maxWidth}px`,
        'text-background-color': v('--panel'),
        'text-background-opacity': 0.7,
        'text-background-padding': '1px',
        // Unreadably small labels are not drawn (a big graph fitted to the screen).
        'min-zoomed-font-size': 6,
      },
    },
  ];
  for (const [kind, shape] of Object.entries(shapes)) {
    const b = bodySize(kind);
    rules.push({ selector: `node[kind = ${JSON.stringify(kind)}]`, style: { shape, width: b.w, height: b.h } });
  }
  for (const h of ['ok', 'degraded', 'failing']) rules.push({ selector: `node[health = "${h}"]`, style: { 'background-color': v(healthVar(h)) } });
  rules.push(
    { selector: 'node[kind = "uninstrumented"]', style: { 'border-style': 'dashed', 'border-width': 2, 'border-color': v('--muted') } },
    { selector: 'node[role = "affected"]', style: { 'border-width': 3, 'border-color': v('--path'), 'border-style': 'dashed' } },
    {
      selector: 'node[role = "root-cause"]',
      style: { 'border-width': 5, 'border-color': v('--root'), 'border-style': 'double', 'font-weight': 'bold', 'underlay-color': v('--root'), 'underlay-opacity': 0.18, 'underlay-padding': 8 },
    },
    { selector: 'node.selected', style: { 'overlay-color': v('--accent'), 'overlay-opacity': 0.25, 'overlay-padding': 6 } },
    {
      selector: 'edge',
      style: {
        width: 'data(width)',
        'line-color': v('--muted'),
        'target-arrow-color': v('--muted'),
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.8,
        'curve-style': big ? 'straight' : 'bezier',
        opacity: 0.7,
        label: big ? '' : 'data(label)',
        'font-family': font,
        'font-size': 9,
        color: v('--muted'),
        'text-rotation': 'autorotate',
        'text-background-color': v('--panel'),
        'text-background-opacity': 0.8,
        'text-background-padding': '1px',
        'min-zoomed-font-size': 6,
      },
    },
  );
  // Edges ELK bent around nodes in their way (positions.ts: small graphs only).
  rules.push({ selector: 'edge.routed', style: { 'curve-style': 'segments', 'segment-weights': 'data(sw)', 'segment-distances': 'data(sd)', 'edge-distances': 'node-position' } });
  for (const h of ['degraded', 'failing']) rules.push({ selector: `edge[health = "${h}"]`, style: { 'line-color': v(edgeVar(h)), 'target-arrow-color': v(edgeVar(h)) } });
  rules.push(
    { selector: 'edge[?onPath]', style: { 'line-color': v('--path'), 'target-arrow-color': v('--path'), opacity: 1, 'z-index': 10 } },
    { selector: '.faded', style: { opacity: 0.12 } },
  );
  return rules as cytoscape.StylesheetJson;
}
