import { describe, expect, it } from 'vitest';
import type { Incident, RCA, Topology, TopologyNode } from '../types';
import {
  buildElements,
  chooseOverlay,
  clampDepth,
  describe as sentence,
  edgeHealth,
  edgeKey,
  formatRate,
  layoutKey,
  matches,
  needsLayout,
  neighbourhood,
  orderServices,
  perSecond,
  restrict,
  roles,
} from './model';

const node = (service: string, over: Partial<TopologyNode> = {}): TopologyNode => ({
  service,
  kind: 'service',
  requests: 600,
  errors: 0,
  error_rate: 0,
  p50_ms: 5,
  p99_ms: 20,
  health: 'ok',
  ...over,
});
const edge = (caller: string, callee: string, requests = 600, error_rate = 0) => ({ caller, callee, requests, errors: 0, error_rate, p50_ms: 1, p99_ms: 2 });

// frontend → checkout → payment → db, frontend → catalog
const topo: Topology = {
  nodes: [
    node('frontend'),
    node('checkout', { health: 'failing', error_rate: 0.5 }),
    node('payment', { health: 'failing', error_rate: 0.9 }),
    node('db', { kind: 'database' }),
    node('catalog', { health: 'degraded', error_rate: 0.03 }),
  ],
  edges: [edge('frontend', 'checkout'), edge('checkout', 'payment', 300, 0.9), edge('payment', 'db', 150), edge('frontend', 'catalog', 1200)],
};

// The shape of GET /api/v1/rca (see /work/notes/ui-samples/rca.json).
const rca: RCA = {
  summary: 'payment is failing since 12:29:00 UTC; 2 services affected: checkout, frontend.',
  root_causes: [{ service: 'payment', score: 1, kind: 'error', node_kind: 'service', since: '2026-11-22T12:29:00Z', evidence: [] }],
  affected: [
    { service: 'frontend', impact: 0.3 },
    { service: 'checkout', impact: 0.8 },
  ],
  paths: [['frontend', 'checkout', 'payment']],
  exemplar_traces: [],
};
const calm: RCA = { root_causes: [], affected: [], paths: [], exemplar_traces: [] };

describe('chooseOverlay', () => {
  it("draws the range's analysis: root cause, affected by impact, the path's edges", () => {
    const o = chooseOverlay(rca)!;
    expect(o.roots).toEqual(['payment']);
    expect(o.kind).toBe('error');
    expect(o.summary).toBe(rca.summary);
    expect(o.affected).toEqual([
      { service: 'checkout', impact: 0.8 },
      { service: 'frontend', impact: 0.3 },
    ]);
    expect([...o.pathEdges].sort()).toEqual([edgeKey('checkout', 'payment'), edgeKey('frontend', 'checkout')].sort());
    expect(o.since).toBe('2026-11-22T12:29:00Z');
  });
  it('keeps every root cause, the most likely first, once', () => {
    const two = chooseOverlay({ ...rca, root_causes: [...rca.root_causes, { service: 'db', score: 0.4, kind: 'latency', evidence: [] }, { service: 'payment', score: 0.1, kind: 'error', evidence: [] }] })!;
    expect(two.roots).toEqual(['payment', 'db']);
    expect(roles(two).get('db')).toBe('root-cause');
  });
  it('is null when nothing is wrong', () => {
    expect(chooseOverlay({ ...calm, summary: 'Nothing is wrong: no service deviates from its baseline.' })).toBeNull();
    expect(chooseOverlay(undefined)).toBeNull();
    // Go's nil slices arrive as null.
    expect(chooseOverlay({ root_causes: null, affected: null, paths: null } as unknown as RCA)).toBeNull();
    expect(chooseOverlay({ ...rca, root_causes: [{ ...rca.root_causes[0], service: '' }] })).toBeNull();
  });
  it('never marks a root cause as affected, and keeps one entry per service', () => {
    const o = chooseOverlay({ ...rca, affected: [...rca.affected, { service: 'payment', impact: 1 }, { service: 'frontend', impact: 0.9 }] })!;
    expect(roles(o).get('payment')).toBe('root-cause');
    expect(o.affected).toEqual([
      { service: 'frontend', impact: 0.9 },
      { service: 'checkout', impact: 0.8 },
    ]);
  });
  it('writes its own sentence when the server sent none', () => {
    const o = chooseOverlay({ ...rca, summary: '' })!;
    expect(o.summary).toBe('payment is failing since 12:29 UTC; 2 services affected: checkout, frontend.');
  });
});

describe('describe', () => {
  it('names the kind, the time and the affected services', () => {
    expect(sentence({ roots: ['db'], kind: 'latency', affected: [{ service: 'api', impact: 1 }], since: '2026-01-02T03:04:05Z' })).toBe('db is slow since 03:04 UTC; 1 service affected: api.');
    expect(sentence({ roots: ['a', 'b'], kind: 'down', affected: [], since: undefined })).toBe('a, b are down; no other service affected.');
    expect(sentence({ roots: ['x'], kind: '', affected: [], since: 'garbage' })).toBe('x is failing; no other service affected.');
  });
});

describe('elements', () => {
  const o = chooseOverlay(rca);
  const el = buildElements(topo, o, 60_000);
  const nodes = new Map(el.nodes.map((n) => [n.data.id, n.data]));
  const edges = new Map(el.edges.map((x) => [x.data.id, x.data]));
  it('carries kinds, health, roles, impact and rates', () => {
    expect(nodes.get('payment')).toMatchObject({ role: 'root-cause', health: 'failing', kind: 'service', errorRate: 0.9, rps: 10, p50: 5, p99: 20, label: 'payment' });
    expect(nodes.get('checkout')).toMatchObject({ role: 'affected', impact: 0.8 });
    expect(nodes.get('catalog')).toMatchObject({ role: '', impact: 0, health: 'degraded' });
    expect(nodes.get('db')?.kind).toBe('database');
  });
  it('gives edges their rate, width share, label and path flag', () => {
    expect(edges.get(edgeKey('checkout', 'payment'))).toMatchObject({ source: 'checkout', target: 'payment', onPath: true, rps: 5, errorRate: 0.9, label: '5.0/s', weight: 0.25 });
    expect(edges.get(edgeKey('frontend', 'catalog'))).toMatchObject({ onPath: false, weight: 1, label: '20/s' });
    expect(edges.get(edgeKey('payment', 'db'))?.weight).toBe(0.125);
  });
  it('marks a path listed from the root cause outwards too', () => {
    const reversed = chooseOverlay({ ...rca, paths: [['payment', 'checkout', 'frontend']] });
    const e = buildElements(topo, reversed, 60_000).edges.filter((x) => x.data.onPath).map((x) => x.data.id);
    expect(e.sort()).toEqual([edgeKey('checkout', 'payment'), edgeKey('frontend', 'checkout')].sort());
  });
  it('has no roles or path without an overlay', () => {
    const plain = buildElements(topo, null, 60_000);
    expect(plain.nodes.every((n) => n.data.role === '')).toBe(true);
    expect(plain.edges.some((e) => e.data.onPath)).toBe(false);
  });
  it('drops what Cytoscape would throw on: dangling edges, repeated nodes and edges', () => {
    const cut = buildElements({ nodes: [...topo.nodes.slice(0, 2), node('frontend')], edges: [...topo.edges, edge('frontend', 'checkout')] }, null, 60_000);
    expect(cut.nodes.map((n) => n.data.id)).toEqual(['frontend', 'checkout']);
    expect(cut.edges.map((x) => x.data.id)).toEqual([edgeKey('frontend', 'checkout')]);
  });
  it('survives null lists and non-numeric figures', () => {
    const odd = buildElements({ nodes: [{ ...node('a'), requests: null as unknown as number, p99_ms: Number.NaN }], edges: null as unknown as [] }, null, 60_000);
    expect(odd.nodes[0].data).toMatchObject({ rps: 0, p99: 0 });
    expect(odd.edges).toEqual([]);
  });
  it('keeps edge IDs apart whatever the names hold', () => {
    expect(edgeKey('a->b', 'c')).not.toBe(edgeKey('a', 'b->c'));
    expect(edgeKey('a","b', 'c')).not.toBe(edgeKey('a', 'b","c'));
  });
});

describe('layout decision', () => {
  const el = buildElements(topo, null, 60_000);
  it('a refresh with the same nodes and edges only restyles', () => {
    const busier = buildElements(
      { ...topo, nodes: topo.nodes.map((n) => ({ ...n, requests: n.requests * 3, health: 'failing' as const })), edges: [...topo.edges].reverse() },
      chooseOverlay(rca),
      300_000,
    );
    expect(needsLayout(layoutKey(el), busier)).toBe(false);
  });
  it('a new node, a new edge, a lost edge or a changed kind lays out again', () => {
    const key = layoutKey(el);
    expect(needsLayout(null, el)).toBe(true);
    expect(needsLayout(key, buildElements({ nodes: [...topo.nodes, node('new')], edges: topo.edges }, null, 60_000))).toBe(true);
    expect(needsLayout(key, buildElements({ nodes: topo.nodes, edges: [...topo.edges, edge('catalog', 'db')] }, null, 60_000))).toBe(true);
    expect(needsLayout(key, buildElements({ nodes: topo.nodes, edges: topo.edges.slice(1) }, null, 60_000))).toBe(true);
    expect(needsLayout(key, buildElements({ nodes: topo.nodes.map((n) => (n.service === 'db' ? { ...n, kind: 'uninstrumented' as const } : n)), edges: topo.edges }, null, 60_000))).toBe(true);
  });
  it('a reversed edge is a different edge', () => {
    const one = buildElements({ nodes: [node('a'), node('b')], edges: [edge('a', 'b')] }, null, 1000);
    const other = buildElements({ nodes: [node('a'), node('b')], edges: [edge('b', 'a')] }, null, 1000);
    expect(needsLayout(layoutKey(one), other)).toBe(true);
  });
});

describe('neighbourhood', () => {
  it('follows calls both ways up to the depth', () => {
    expect([...neighbourhood(topo, 'checkout', 1)!].sort()).toEqual(['checkout', 'frontend', 'payment']);
    expect([...neighbourhood(topo, 'checkout', 2)!].sort()).toEqual(['catalog', 'checkout', 'db', 'frontend', 'payment']);
    expect([...neighbourhood(topo, 'db', 1)!].sort()).toEqual(['db', 'payment']);
    expect([...neighbourhood(topo, 'db', 2)!].sort()).toEqual(['checkout', 'db', 'payment']);
  });
  it('is only the service itself when it has no edges, null when it is not in the graph', () => {
    expect([...neighbourhood({ nodes: [...topo.nodes, node('lonely')], edges: topo.edges }, 'lonely', 3)!]).toEqual(['lonely']);
    expect(neighbourhood(topo, 'nope', 2)).toBeNull();
  });
  it('restrict keeps the nodes in the set and the edges inside it', () => {
    const r = restrict(topo, neighbourhood(topo, 'payment', 1));
    expect(r.nodes.map((n) => n.service).sort()).toEqual(['checkout', 'db', 'payment']);
    expect(r.edges.map((e) => `${e.caller}>${e.callee}`).sort()).toEqual(['checkout>payment', 'payment>db']);
    expect(restrict(topo, null)).toBe(topo);
  });
});

describe('list', () => {
  it('orders root cause, affected by impact, then unhealthy, by error rate, by name', () => {
    const o = chooseOverlay({ ...rca, affected: [{ service: 'frontend', impact: 0.9 }, { service: 'db', impact: 0.95 }] });
    expect(orderServices(topo.nodes, o).map((n) => n.service)).toEqual(['payment', 'db', 'frontend', 'checkout', 'catalog']);
    expect(orderServices(topo.nodes, null).map((n) => n.service)).toEqual(['payment', 'checkout', 'catalog', 'db', 'frontend']);
  });
  it('filters on every word, case-insensitively', () => {
    expect(matches('payment-gateway', 'PAY gate')).toBe(true);
    expect(matches('payment-gateway', 'pay cart')).toBe(false);
    expect(matches('anything', '  ')).toBe(true);
  });
});

describe('helpers', () => {
  it('turns counts over the range into rates', () => {
    expect(perSecond(600, 60_000)).toBe(10);
    expect(perSecond(600, 0)).toBe(0);
    expect(perSecond(Number.NaN, 1000)).toBe(0);
  });
  it('formats rates', () => {
    expect(formatRate(0)).toBe('0/s');
    expect(formatRate(Number.NaN)).toBe('0/s');
    expect(formatRate(0.005)).toBe('0.30/min');
    expect(formatRate(0.5)).toBe('0.50/s');
    expect(formatRate(2.34)).toBe('2.3/s');
    expect(formatRate(42.4)).toBe('42/s');
    expect(formatRate(1500)).toBe('1.5k/s');
    expect(formatRate(25_000)).toBe('25k/s');
  });
  it("colours edges with the server's health thresholds", () => {
    expect(edgeHealth(0)).toBe('ok');
    expect(edgeHealth(0.019)).toBe('ok');
    expect(edgeHealth(0.02)).toBe('degraded');
    expect(edgeHealth(0.2)).toBe('failing');
  });
  it('reads the depth within 1..5', () => {
    expect(clampDepth(null)).toBe(1);
    expect(clampDepth('3')).toBe(3);
    expect(clampDepth('99')).toBe(5);
    expect(clampDepth('0')).toBe(1);
    expect(clampDepth('x')).toBe(1);
  });
});

describe('chooseOverlay with incidents', () => {
  const inc = (over: Partial<Incident>): Incident => ({
    id: 'i1',
    start: '2026-12-07T09:00:00Z',
    end: null,
    ongoing: true,
    last_seen: '2026-12-07T09:05:00Z',
    root_cause: 'ledger-db',
    kind: 'error',
    summary: '',
    root_causes: [{ service: 'ledger-db', score: 0.9, kind: 'error', evidence: [] }],
    affected: [{ service: 'ledger', impact: 0.8 }],
    paths: [['ledger', 'ledger-db']],
    exemplar_traces: [],
    ...over,
  });

  it('prefers the newest ongoing incident over the range analysis', () => {
    const older = inc({ id: 'old', start: '2026-12-07T08:00:00Z', root_cause: 'cache', root_causes: [] });
    const o = chooseOverlay(rca, [older, inc({})])!;
    expect(o.roots).toEqual(['ledger-db']);
    expect(o.incident).toBe('i1');
    expect(o.since).toBe('2026-12-07T09:00:00Z');
    expect(o.pathEdges.has(edgeKey('ledger', 'ledger-db'))).toBe(true);
    expect(o.summary).toContain('ledger-db');
  });

  it('ignores resolved incidents and those starting after the range', () => {
    const o = chooseOverlay(rca, [inc({ ongoing: false, end: '2026-12-07T09:10:00Z' }), inc({ id: 'late', start: '2026-12-07T10:00:00Z' })], Date.parse('2026-12-07T09:30:00Z'))!;
    expect(o.incident).toBeUndefined();
    expect(o.roots).toEqual(chooseOverlay(rca)!.roots);
  });

  it('falls back to the incident root_cause when its analysis lists none', () => {
    const o = chooseOverlay(undefined, [inc({ root_causes: null as unknown as [], kind: 'latency' })])!;
    expect(o.roots).toEqual(['ledger-db']);
    expect(o.kind).toBe('latency');
  });

  it('is null with no ongoing incident and a calm analysis', () => {
    expect(chooseOverlay(undefined, [inc({ root_cause: '', root_causes: [] })])).toBeNull();
    expect(chooseOverlay(undefined, null)).toBeNull();
  });
});
