import ELK from 'elkjs/lib/elk.bundled.js';
import { describe, expect, it } from 'vitest';
import type { Topology, TopologyNode } from '../types';
import type { ElkNode } from 'elkjs/lib/elk-api';
import { components, dagreLayout } from './dagre';
import { bigGraph, bodySize, centres, elkGraph, gridPositions, label, layoutOptions, routes, segmentHitsBox, segmentsFor, warmUpGraph } from './layout';
import { buildElements, edgeWidth } from './model';
import { edgeVar, healthVar, shapeOf, stylesheet } from './style';

const node = (service: string, kind: TopologyNode['kind'] = 'service'): TopologyNode => ({ service, kind, requests: 1, errors: 0, error_rate: 0, p50_ms: 1, p99_ms: 1, health: 'ok' });
const edge = (caller: string, callee: string) => ({ caller, callee, requests: 1, errors: 0, error_rate: 0, p50_ms: 1, p99_ms: 1 });
// Each character 7px wide.
const measure = (t: string) => t.length * 7;

// frontend → checkout → payment → postgres; frontend → catalog → postgres
const shop: Topology = {
  nodes: [node('payment'), node('postgres', 'database'), node('frontend'), node('checkout'), node('catalog')],
  edges: [edge('frontend', 'checkout'), edge('checkout', 'payment'), edge('payment', 'postgres'), edge('frontend', 'catalog'), edge('catalog', 'postgres')],
};

describe('elkGraph', () => {
  const el = buildElements(shop, null, 1000);
  const g = elkGraph(el, measure);
  it('boxes each node with its label under it', () => {
    const svc = bodySize('service');
    expect(g.children![0]).toEqual({ id: 'n0', width: Math.max(svc.w, 7 * 7 + 4), height: svc.h + label.gap + label.height });
    const long = elkGraph(buildElements({ nodes: [node('x'.repeat(100))], edges: [] }, null, 1000), measure);
    expect(long.children![0].width).toBe(label.maxWidth + 4);
    const short = elkGraph(buildElements({ nodes: [node('a')], edges: [] }, null, 1000), measure);
    expect(short.children![0].width).toBe(svc.w);
  });
  it('names elements by index, so any service name is a safe ID', () => {
    const odd = elkGraph(buildElements({ nodes: [node('root'), node('n1'), node('e0')], edges: [edge('n1', 'root'), edge('e0', 'n1')] }, null, 1000), measure);
    expect(odd.id).toBe('root');
    expect(odd.children!.map((c) => c.id)).toEqual(['n0', 'n1', 'n2']);
    expect(odd.edges).toEqual([
      { id: 'e0', sources: ['n1'], targets: ['n0'] },
      { id: 'e1', sources: ['n2'], targets: ['n1'] },
    ]);
  });
  it('is laid out left to right by ELK, callers before callees', async () => {
    const laid = await new ELK().layout(g);
    const pos = centres(el, laid);
    expect(pos.size).toBe(5);
    const x = (s: string) => pos.get(s)!.x;
    for (const e of shop.edges) expect(x(e.caller), `${e.caller} → ${e.callee}`).toBeLessThan(x(e.callee));
    // Node bodies never overlap.
    const all = [...pos.values()];
    for (let i = 0; i < all.length; i++)
      for (let j = i + 1; j < all.length; j++) expect(Math.abs(all[i].x - all[j].x) >= 44 || Math.abs(all[i].y - all[j].y) >= 28).toBe(true);
  });
});

describe('routes', () => {
  // Where Cytoscape puts a segment point (edge-distances: node-position).
  const place = (s: { x: number; y: number }, t: { x: number; y: number }, w: number, d: number) => {
    const l = Math.hypot(t.x - s.x, t.y - s.y);
    return { x: s.x + w * (t.x - s.x) + (d * -(t.y - s.y)) / l, y: s.y + w * (t.y - s.y) + (d * (t.x - s.x)) / l };
  };
  it('turns bend points into weights and distances that Cytoscape puts back in place', () => {
    const s = { x: 10, y: 20 };
    const t = { x: 210, y: 120 };
    const bends = [
      { x: 60, y: 150 },
      { x: 150, y: -30 },
    ];
    const r = segmentsFor(s, t, bends)!;
    r.weights.forEach((w, i) => {
      const p = place(s, t, w, r.distances[i]);
      expect(p.x).toBeCloseTo(bends[i].x, 6);
      expect(p.y).toBeCloseTo(bends[i].y, 6);
    });
  });
  it('leaves out bends that stay near the straight line, and degenerate edges', () => {
    expect(segmentsFor({ x: 0, y: 0 }, { x: 100, y: 0 }, [{ x: 50, y: 5 }])).toBeNull();
    expect(segmentsFor({ x: 0, y: 0 }, { x: 100, y: 0 }, [])).toBeNull();
    expect(segmentsFor({ x: 0, y: 0 }, { x: 0, y: 0 }, [{ x: 50, y: 50 }])).toBeNull();
    expect(segmentsFor({ x: 0, y: 0 }, { x: 100, y: 0 }, [{ x: 50, y: 40 }])).not.toBeNull();
  });
  it("keeps the shop's edges off the nodes they do not join", async () => {
    // The shop topology of the live demo (/work/notes/ui-samples/topology.json).
    const kinds: Record<string, TopologyNode['kind']> = { 'payment-gateway': 'external', postgres: 'database', redis: 'cache' };
    const names = ['ad', 'cart', 'catalog', 'checkout', 'currency', 'email', 'frontend', 'payment', 'payment-gateway', 'postgres', 'recommendation', 'redis', 'shipping'];
    const pairs = [
      ['cart', 'redis'], ['catalog', 'postgres'], ['checkout', 'cart'], ['checkout', 'currency'], ['checkout', 'email'], ['checkout', 'payment'], ['checkout', 'shipping'],
      ['frontend', 'ad'], ['frontend', 'cart'], ['frontend', 'catalog'], ['frontend', 'checkout'], ['frontend', 'recommendation'], ['payment', 'payment-gateway'], ['recommendation', 'catalog'],
    ];
    const el = buildElements({ nodes: names.map((n) => node(n, kinds[n] ?? 'service')), edges: pairs.map(([a, b]) => edge(a, b)) }, null, 1000);
    const laid = await new ELK().layout(elkGraph(el, measure));
    const pos = centres(el, laid);
    const r = routes(el, laid, pos);
    const hits = (pts: { x: number; y: number }[], skip: string[]) => {
      const out = new Set<string>();
      for (const n of el.nodes) {
        if (skip.includes(n.data.id)) continue;
        const c = pos.get(n.data.id)!;
        const b = bodySize(n.data.kind);
        for (let i = 0; i + 1 < pts.length; i++)
          for (let k = 0; k <= 50; k++) {
            const x = pts[i].x + ((pts[i + 1].x - pts[i].x) * k) / 50;
            const y = pts[i].y + ((pts[i + 1].y - pts[i].y) * k) / 50;
            if (Math.abs(x - c.x) < b.w / 2 && Math.abs(y - c.y) < b.h / 2) out.add(n.data.id);
          }
      }
      return [...out];
    };
    let straightHits = 0;
    for (const e of el.edges) {
      const s = pos.get(e.data.source)!;
      const t = pos.get(e.data.target)!;
      const route = r.get(e.data.id);
      const path = route ? [s, ...route.weights.map((w, i) => place(s, t, w, route.distances[i])), t] : [s, t];
      expect(hits(path, [e.data.source, e.data.target]), `${e.data.source} → ${e.data.target}`).toEqual([]);
      straightHits += hits([s, t], [e.data.source, e.data.target]).length;
    }
    // Drawn straight, some edge would cross a node: the routes are what avoid it.
    expect(r.size).toBeGreaterThan(0);
    expect(straightHits).toBeGreaterThan(0);
  });
  it('finds segments through boxes', () => {
    const box = { w: 40, h: 20 };
    expect(segmentHitsBox({ x: 0, y: 0 }, { x: 100, y: 0 }, { x: 50, y: 5 }, box)).toBe(true);
    expect(segmentHitsBox({ x: 0, y: 0 }, { x: 100, y: 0 }, { x: 50, y: 30 }, box)).toBe(false);
    expect(segmentHitsBox({ x: 0, y: 0 }, { x: 20, y: 0 }, { x: 50, y: 0 }, box)).toBe(false);
    expect(segmentHitsBox({ x: 0, y: -50 }, { x: 100, y: 50 }, { x: 50, y: 0 }, box)).toBe(true);
    expect(segmentHitsBox({ x: 50, y: -50 }, { x: 50, y: 50 }, { x: 50, y: 0 }, box)).toBe(true);
  });
  it('reads bends by edge index, only for blocked edges, and skips loops', () => {
    const el = buildElements({ nodes: [node('a'), node('b'), node('m')], edges: [edge('a', 'b'), edge('a', 'a'), edge('a', 'm')] }, null, 1000);
    const pos = new Map([
      ['a', { x: 0, y: 0 }],
      ['b', { x: 100, y: 0 }],
      ['m', { x: 50, y: 0 }],
    ]);
    const laid = {
      id: 'root',
      edges: [
        { id: 'e0', sources: ['n0'], targets: ['n1'], sections: [{ id: 's', startPoint: { x: 0, y: 0 }, endPoint: { x: 100, y: 0 }, bendPoints: [{ x: 50, y: 60 }] }] },
        { id: 'e1', sources: ['n0'], targets: ['n0'], sections: [{ id: 't', startPoint: { x: 0, y: 0 }, endPoint: { x: 0, y: 0 }, bendPoints: [{ x: 50, y: 60 }] }] },
        // Bent by ELK, but nothing stands between a and m.
        { id: 'e2', sources: ['n0'], targets: ['n2'], sections: [{ id: 'u', startPoint: { x: 0, y: 0 }, endPoint: { x: 50, y: 0 }, bendPoints: [{ x: 25, y: 40 }] }] },
      ],
    };
    const r = routes(el, laid, pos);
    expect([...r.keys()]).toEqual([el.edges[0].data.id]);
    expect(r.get(el.edges[0].data.id)).toEqual({ weights: [0.5], distances: [60] });
  });
});

describe('layoutOptions', () => {
  it('is ELK layered, left to right, with straight-edge placement', () => {
    const o = layoutOptions();
    expect(o['elk.algorithm']).toBe('layered');
    expect(o['elk.direction']).toBe('RIGHT');
    expect(o['elk.layered.nodePlacement.strategy']).toBe('BRANDES_KOEPF');
  });
  it('draws callers left of callees, and the warm-up graph lays out', async () => {
    const elk = new ELK();
    const warm = await elk.layout(warmUpGraph());
    expect(warm.children?.length).toBe(6);
    const names = Array.from({ length: 30 }, (_, i) => `s${i}`);
    const edges = names.slice(1).map((s, i) => edge(names[Math.floor(i / 3)], s));
    const el = buildElements({ nodes: names.map((s) => node(s)), edges }, null, 1000);
    const pos = centres(el, await elk.layout(elkGraph(el, measure)));
    expect(pos.size).toBe(names.length);
    for (const e of edges) expect(pos.get(e.caller)!.x).toBeLessThan(pos.get(e.callee)!.x);
  });
});

/** expectApart fails on the first two laid-out boxes that overlap. */
function expectApart(boxes: ElkNode[]) {
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      const apart = a.x! + a.width! <= b.x! || b.x! + b.width! <= a.x! || a.y! + a.height! <= b.y! || b.y! + b.height! <= a.y!;
      if (!apart) throw new Error(`${a.id} and ${b.id} overlap`);
    }
  }
}

describe('dagreLayout (graphs over bigGraph nodes)', () => {
  // Ten layers of 22 services, each calling two in the next layer, the last one four stores.
  const names = Array.from({ length: 220 }, (_, i) => `svc-${i}`);
  const stores = ['orders-db', 'users-db', 'cache', 'search'];
  const edges = names.flatMap((s, i) => {
    const layer = Math.floor(i / 22);
    if (layer === 9) return [edge(s, stores[i % 4])];
    return [edge(s, names[(layer + 1) * 22 + (i % 22)]), edge(s, names[(layer + 1) * 22 + ((i + 7) % 22)])];
  });
  const el = buildElements({ nodes: [...names.map((s) => node(s)), ...stores.map((s) => node(s, 'database'))], edges }, null, 1000);
  const g = elkGraph(el, measure);
  const laid = dagreLayout(g);

  it('is big enough to go to dagre', () => {
    expect(el.nodes.length).toBeGreaterThan(bigGraph);
  });
  it('draws callers left of callees', () => {
    const pos = centres(el, laid);
    expect(pos.size).toBe(el.nodes.length);
    for (const e of edges) expect(pos.get(e.caller)!.x).toBeLessThan(pos.get(e.callee)!.x);
  });
  it('keeps the boxes apart and returns them in ELK\'s shape', () => {
    const boxes = laid.children ?? [];
    expect(boxes.map((b) => b.id)).toEqual((g.children ?? []).map((c) => c.id));
    expectApart(boxes);
  });
});

describe('dagreLayout with parts not connected to each other', () => {
  // A chain of 90 services, a separate pair, and 40 services that call nobody.
  const chain = Array.from({ length: 90 }, (_, i) => `c${i}`);
  const lonely = Array.from({ length: 40 }, (_, i) => `l${i}`);
  const edges = [...chain.slice(1).map((s, i) => edge(chain[i], s)), edge('p0', 'p1')];
  const el = buildElements({ nodes: [...chain, 'p0', 'p1', ...lonely].map((s) => node(s)), edges }, null, 1000);
  const g = elkGraph(el, measure);
  const laid = dagreLayout(g);
  const boxes = new Map((laid.children ?? []).map((b) => [b.id, b]));
  const box = (service: string) => boxes.get(g.children![el.nodes.findIndex((n) => n.data.id === service)].id)!;

  it('finds the parts, biggest first', () => {
    const parts = components(
      (g.children ?? []).map((c) => ({ id: c.id, width: c.width!, height: c.height! })),
      (g.edges ?? []).map((e) => [e.sources[0], e.targets[0]] as const),
    );
    expect(parts.map((p) => p.length)).toEqual([90, 2, ...lonely.map(() => 1)]);
  });
  it('keeps each part left to right and packs the services without calls in rows, not one column', () => {
    for (const e of edges) expect(box(e.caller).x!).toBeLessThan(box(e.callee).x!);
    const xs = new Set(lonely.map((s) => box(s).x));
    expect(xs.size).toBeGreaterThan(5);
    const heights = [...boxes.values()].map((b) => b.y! + b.height!);
    const widths = [...boxes.values()].map((b) => b.x! + b.width!);
    // The chain is one wide row; the rest fits under it rather than stretching the drawing down.
    expect(Math.max(...heights)).toBeLessThan(Math.max(...widths));
  });
  it('never overlaps two boxes', () => {
    expectApart([...boxes.values()]);
  });
});

describe('centres', () => {
  it("reads the body's centre: the box's middle across, the body's middle down", () => {
    const el = buildElements({ nodes: [node('a'), node('db', 'database')], edges: [] }, null, 1000);
    const pos = centres(el, { id: 'root', children: [{ id: 'n0', x: 10, y: 20, width: 60, height: 46 }, { id: 'n1', x: 100, y: 0, width: 40, height: 52 }, { id: 'n9', x: 0, y: 0 }] });
    expect(pos.get('a')).toEqual({ x: 40, y: 20 + bodySize('service').h / 2 });
    expect(pos.get('db')).toEqual({ x: 120, y: bodySize('database').h / 2 });
    expect(pos.size).toBe(2);
  });
  it('has a grid to fall back on, one cell per node', () => {
    const el = buildElements({ nodes: ['a', 'b', 'c', 'd', 'e'].map((s) => node(s)), edges: [] }, null, 1000);
    const g = gridPositions(el);
    expect(g.size).toBe(5);
    expect(new Set([...g.values()].map((p) => `${p.x},${p.y}`)).size).toBe(5);
  });
});

describe('stylesheet', () => {
  const vars: Record<string, string> = { '--root': 'rgb(1, 2, 3)', '--path': 'rgb(4, 5, 6)', '--text': 'rgb(7, 8, 9)' };
  const sheet = (big: boolean) => stylesheet((n) => vars[n] ?? '#000', 'Test Sans', big) as { selector: string; style: Record<string, unknown> }[];
  it('takes its colours and font from the page', () => {
    const s = sheet(false);
    expect(s.find((x) => x.selector === 'node[role = "root-cause"]')?.style['border-color']).toBe('rgb(1, 2, 3)');
    expect(s.find((x) => x.selector === 'edge[?onPath]')?.style['line-color']).toBe('rgb(4, 5, 6)');
    expect(s.find((x) => x.selector === 'node')?.style.color).toBe('rgb(7, 8, 9)');
    expect(s.find((x) => x.selector === 'node')?.style['font-family']).toBe('Test Sans');
  });
  it('labels and curves edges on small graphs only', () => {
    expect(sheet(false).find((x) => x.selector === 'edge')?.style).toMatchObject({ label: 'data(label)', 'curve-style': 'bezier' });
    expect(sheet(true).find((x) => x.selector === 'edge')?.style).toMatchObject({ label: '', 'curve-style': 'straight' });
  });
  it('draws each kind as its own shape', () => {
    const kinds = ['service', 'database', 'cache', 'external', 'messaging', 'uninstrumented'];
    expect(new Set(kinds.map(shapeOf)).size).toBe(kinds.length);
    expect(shapeOf('something-new')).toBe('ellipse');
  });
  it('maps health to theme variables, by selector', () => {
    expect(healthVar('failing')).toBe('--failing');
    expect(healthVar('weird')).toBe('--unknown');
    expect(edgeVar('ok')).toBe('--muted');
    expect(edgeVar('degraded')).toBe('--degraded');
    const s = stylesheet((n) => n, 'f', true) as { selector: string; style: Record<string, unknown> }[];
    expect(s.find((x) => x.selector === 'node[health = "failing"]')?.style['background-color']).toBe('--failing');
    expect(s.find((x) => x.selector === 'edge[health = "degraded"]')?.style['line-color']).toBe('--degraded');
    expect(s.find((x) => x.selector === 'node[kind = "database"]')?.style).toEqual({ shape: 'barrel', ...{ width: bodySize('database').w, height: bodySize('database').h } });
    // No per-element functions: Cytoscape can share the computed styles.
    expect(s.every((r) => Object.values(r.style).every((v) => typeof v !== 'function'))).toBe(true);
  });
  it('widens edges with traffic, more on the failure path', () => {
    expect(edgeWidth(0, false)).toBe(1);
    expect(edgeWidth(1, false)).toBe(6);
    expect(edgeWidth(0.25, false)).toBe(3.5);
    expect(edgeWidth(0.25, true)).toBe(5.5);
    expect(edgeWidth(Number.NaN, false)).toBe(1);
  });
});

describe('the stylesheet in Cytoscape', () => {
  const vars: Record<string, string> = { '--ok': '#00ff00', '--failing': '#ff0000', '--degraded': '#ffaa00', '--muted': '#888888', '--root': '#aa0000', '--path': '#ff8800' };
  it('is valid, and a refresh that changes only data restyles the elements', async () => {
    const { default: cytoscape } = await import('cytoscape');
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...a: unknown[]) => warnings.push(a);
    try {
      const cy = cytoscape({ headless: true, styleEnabled: true, style: stylesheet((n) => vars[n] ?? '#000000', 'sans-serif', false) });
      const t: Topology = { nodes: [node('api'), { ...node('db', 'database'), health: 'failing' }], edges: [edge('api', 'db')] };
      const el = buildElements(t, null, 1000);
      cy.add([...el.nodes.map((n) => ({ group: 'nodes' as const, data: n.data })), ...el.edges.map((e) => ({ group: 'edges' as const, data: e.data }))]);
      expect(cy.getElementById('api').style('background-color')).toBe('rgb(0,255,0)');
      expect(cy.getElementById('db').style('shape')).toBe('barrel');
      expect(cy.getElementById('db').style('background-color')).toBe('rgb(255,0,0)');
      // The next refresh: api fails, its edge errors.
      const next = buildElements({ nodes: [{ ...t.nodes[0], health: 'failing' }, t.nodes[1]], edges: [{ ...t.edges[0], error_rate: 0.5 }] }, null, 1000);
      cy.batch(() => {
        for (const n of next.nodes) cy.getElementById(n.data.id).data(n.data);
        for (const e of next.edges) cy.getElementById(e.data.id).data(e.data);
      });
      expect(cy.getElementById('api').style('background-color')).toBe('rgb(255,0,0)');
      expect(cy.edges()[0].style('line-color')).toBe('rgb(255,0,0)');
      cy.destroy();
    } finally {
      console.warn = warn;
    }
    expect(warnings).toEqual([]);
  });
});
