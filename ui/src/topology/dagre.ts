// Big graphs are laid out by dagre (Cytoscape's usual layered layout) rather than by ELK: on a
// 200-service graph ELK's start-up alone (1.4 MB of script to compile, then a cold first
// layout) takes longer than dagre's whole layout, and on two cores its worker slows the page
// down while it compiles. dagre runs in a small worker of its own, so that React draws the
// page meanwhile; its answer comes back in ELK's shape (boxes' top-left corners), so the rest
// of the page reads either.
import { Graph, layout } from '@dagrejs/dagre';
import type { ElkNode } from 'elkjs/lib/elk-api';
import { layoutSpacing } from './layout';

/** dagreLayout lays out ELK's input graph (boxes and edges) left to right. */
export function dagreLayout(g: ElkNode): ElkNode {
  const d = new Graph();
  // Longest-path ranking: a third of network simplex's time, and the last column then holds
  // the dependencies (databases, caches) every caller reaches.
  d.setGraph({ rankdir: 'LR', nodesep: layoutSpacing.node, ranksep: layoutSpacing.layer, edgesep: 10, ranker: 'longest-path' });
  d.setDefaultEdgeLabel(() => ({}));
  for (const c of g.children ?? []) d.setNode(c.id, { width: c.width ?? 0, height: c.height ?? 0 });
  for (const e of g.edges ?? []) d.setEdge(e.sources[0], e.targets[0]);
  layout(d);
  return {
    ...g,
    children: (g.children ?? []).map((c) => {
      const n = d.node(c.id);
      return { ...c, x: n.x - (c.width ?? 0) / 2, y: n.y - (c.height ?? 0) / 2 };
    }),
  };
}
