// The topology page's logic, kept out of the components so that it can be tested without a
// DOM: the failure drawn on the graph and each service's role in it, the graph's elements,
// the neighbourhood of a focused service, the list's order, and whether a refresh needs a new
// layout.
import { parseTime } from '../incidents/model';
import type { Health, Incident, NodeKind, RCA, RootCauseKind, Topology, TopologyEdge, TopologyNode } from '../types';

export type Role = 'root-cause' | 'affected' | '';

/** Overlay is what the graph marks: the failure the banner describes. */
export interface Overlay {
  /** The sentence of the banner (the server's summary, or one built from the analysis). */
  summary: string;
  /** Root cause services, the most likely first. */
  roots: string[];
  kind: RootCauseKind | '';
  /** Affected services with their impact (0–1), highest first; never a root cause. */
  affected: { service: string; impact: number }[];
  /** Edges on a failure path, as edgeKey(caller, callee). */
  pathEdges: Set<string>;
  /** When the root cause started failing (RFC 3339), if known. */
  since?: string;
  /** The incident drawn, when the overlay comes from one. */
  incident?: string;
}

/**
 * chooseOverlay is the failure to draw: the newest ongoing incident that began before the
 * range ends (the detector's verdict, which holds across refreshes), else the analysis of the
 * page's range (GET /api/v1/rca) when it names a root cause; null when nothing is wrong.
 * The analysis alone is not enough: it compares the range with the hour before it, so on a
 * young server, or with a range reaching back past the fault's start, it finds no baseline.
 */
export function chooseOverlay(rca: RCA | undefined | null, incidents?: Incident[] | null, rangeEnd = Infinity): Overlay | null {
  const ongoing = (incidents ?? [])
    .filter((i) => i.ongoing && !(parseTime(i.start) > rangeEnd))
    .sort((a, b) => (parseTime(b.start) || 0) - (parseTime(a.start) || 0));
  for (const inc of ongoing) {
    const roots = rootServices([inc.root_cause, ...(inc.root_causes ?? []).map((r) => r.service)]);
    if (roots.length === 0) continue;
    const o = fromAnalysis(inc, roots);
    o.since = o.since ?? inc.start;
    o.incident = inc.id;
    if (o.kind === '') o.kind = inc.kind ?? '';
    return o;
  }
  const roots = rootServices((rca?.root_causes ?? []).map((r) => r.service));
  if (!rca || roots.length === 0) return null;
  return fromAnalysis(rca, roots);
}

function rootServices(names: unknown[]): string[] {
  return [...new Set(names.filter((s): s is string => typeof s === 'string' && s !== ''))];
}

function fromAnalysis(a: Pick<RCA, 'root_causes' | 'affected' | 'paths' | 'summary'>, roots: string[]): Overlay {
  const rootSet = new Set(roots);
  const best = new Map<string, number>();
  for (const x of a.affected ?? []) {
    if (rootSet.has(x.service)) continue;
    const impact = Number.isFinite(x.impact) ? x.impact : 0;
    best.set(x.service, Math.max(impact, best.get(x.service) ?? -Infinity));
  }
  const affected = [...best]
    .map(([service, impact]) => ({ service, impact }))
    .sort((x, y) => y.impact - x.impact || x.service.localeCompare(y.service));
  const pathEdges = new Set<string>();
  for (const p of a.paths ?? []) for (let i = 0; i + 1 < p.length; i++) pathEdges.add(edgeKey(p[i], p[i + 1]));
  const first = a.root_causes?.[0];
  const o: Overlay = { summary: '', roots, kind: first?.kind ?? '', affected, pathEdges, since: first?.since };
  o.summary = a.summary && a.summary.trim() !== '' ? a.summary : describe(o);
  return o;
}

const verbs: Record<string, string> = { error: 'failing', latency: 'slow', saturation: 'saturated', down: 'down' };

/** describe is the banner's sentence when the server sent no summary. */
export function describe(o: Pick<Overlay, 'roots' | 'kind' | 'affected' | 'since'>): string {
  const verb = verbs[o.kind] ?? 'failing';
  const t = parseTime(o.since);
  const when = Number.isNaN(t) ? '' : ` since ${new Date(t).toISOString().slice(11, 16)} UTC`;
  const n = o.affected.length;
  const who = n === 0 ? 'no other service affected' : `${n} service${n === 1 ? '' : 's'} affected: ${o.affected.map((a) => a.service).join(', ')}`;
  return `${o.roots.join(', ')} ${o.roots.length > 1 ? 'are' : 'is'} ${verb}${when}; ${who}.`;
}

/** roles maps each marked service to its role (a root cause wins over affected). */
export function roles(o: Overlay | null): Map<string, Role> {
  const m = new Map<string, Role>();
  if (!o) return m;
  for (const a of o.affected) m.set(a.service, 'affected');
  for (const r of o.roots) m.set(r, 'root-cause');
  return m;
}

/** edgeKey names an edge; JSON keeps it unambiguous whatever the names hold ("a->b" + "c"). */
export function edgeKey(caller: string, callee: string): string {
  return JSON.stringify([caller, callee]);
}

/** perSecond turns a count over the range into a rate. */
export function perSecond(count: number, rangeMs: number): number {
  return rangeMs > 0 && Number.isFinite(count) ? count / (rangeMs / 1000) : 0;
}

const healthRank: Record<string, number> = { failing: 0, degraded: 1, unknown: 3, ok: 4 };

/**
 * orderServices is the list's order: the root causes first, then the affected services by
 * impact, then the rest (unhealthy first, then by error rate, then by name).
 */
export function orderServices(nodes: TopologyNode[], o: Overlay | null): TopologyNode[] {
  const rank = new Map<string, number>();
  o?.affected.forEach((a, i) => rank.set(a.service, 1000 + i));
  o?.roots.forEach((s, i) => rank.set(s, i));
  const key = (n: TopologyNode) => rank.get(n.service) ?? 1_000_000 + (healthRank[n.health] ?? 2) * 1000;
  return [...nodes].sort((a, b) => key(a) - key(b) || (b.error_rate || 0) - (a.error_rate || 0) || a.service.localeCompare(b.service));
}

/** matches is the list filter: every word of the query is in the name (case-insensitive). */
export function matches(service: string, query: string): boolean {
  const s = service.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => s.includes(w));
}

/**
 * neighbourhood is the set of services within depth calls of focus, in either direction
 * (callers and callees); null when focus is not in the graph.
 */
export function neighbourhood(t: Topology, focus: string, depth: number): Set<string> | null {
  if (!t.nodes.some((n) => n.service === focus)) return null;
  const adj = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    const l = adj.get(a);
    if (l) l.push(b);
    else adj.set(a, [b]);
  };
  for (const e of t.edges) {
    link(e.caller, e.callee);
    link(e.callee, e.caller);
  }
  const seen = new Set([focus]);
  let frontier = [focus];
  for (let d = 0; d < depth && frontier.length > 0; d++) {
    const next: string[] = [];
    for (const s of frontier)
      for (const n of adj.get(s) ?? [])
        if (!seen.has(n)) {
          seen.add(n);
          next.push(n);
        }
    frontier = next;
  }
  return seen;
}

/** restrict keeps the nodes in keep and the edges between them (null keeps everything). */
export function restrict(t: Topology, keep: Set<string> | null): Topology {
  if (!keep) return t;
  return {
    nodes: t.nodes.filter((n) => keep.has(n.service)),
    edges: t.edges.filter((e) => keep.has(e.caller) && keep.has(e.callee)),
  };
}

export interface NodeData {
  id: string;
  label: string;
  kind: NodeKind | string;
  health: Health | string;
  role: Role;
  /** Impact (0–1) of an affected service. */
  impact: number;
  rps: number;
  errorRate: number;
  p50: number;
  p99: number;
}

export interface EdgeData {
  id: string;
  source: string;
  target: string;
  rps: number;
  errorRate: number;
  p50: number;
  p99: number;
  onPath: boolean;
  /** 0–1: the edge's share of the busiest edge's traffic. */
  weight: number;
  /** Line width in px, from the weight (wider on the failure path). */
  width: number;
  /** Colour class from the error rate (edgeHealth). */
  health: Health;
  label: string;
}

export interface Elements {
  nodes: { data: NodeData }[];
  edges: { data: EdgeData }[];
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** buildElements turns an API answer and the overlay into Cytoscape's elements. */
export function buildElements(t: Topology, o: Overlay | null, rangeMs: number): Elements {
  const role = roles(o);
  const impact = new Map(o?.affected.map((a) => [a.service, a.impact]));
  const seen = new Set<string>();
  const nodes: { data: NodeData }[] = [];
  for (const n of t.nodes ?? []) {
    // A repeated name would make Cytoscape throw; the API never sends one.
    if (typeof n.service !== 'string' || seen.has(n.service)) continue;
    seen.add(n.service);
    nodes.push({
      data: {
        id: n.service,
        label: n.service,
        kind: n.kind || 'service',
        health: n.health || 'unknown',
        role: role.get(n.service) ?? '',
        impact: impact.get(n.service) ?? 0,
        rps: perSecond(num(n.requests), rangeMs),
        errorRate: num(n.error_rate),
        p50: num(n.p50_ms),
        p99: num(n.p99_ms),
      },
    });
  }
  // Edges whose ends are missing (a truncated answer) or repeated are left out: Cytoscape
  // throws on both.
  const kept = (t.edges ?? []).filter((e) => seen.has(e.caller) && seen.has(e.callee));
  const max = Math.max(1, ...kept.map((e) => num(e.requests)));
  const ids = new Set<string>();
  const edges: { data: EdgeData }[] = [];
  for (const e of kept as TopologyEdge[]) {
    const id = edgeKey(e.caller, e.callee);
    if (ids.has(id)) continue;
    ids.add(id);
    const rps = perSecond(num(e.requests), rangeMs);
    const weight = num(e.requests) / max;
    // A path may be listed from either end.
    const onPath = !!o && (o.pathEdges.has(id) || o.pathEdges.has(edgeKey(e.callee, e.caller)));
    edges.push({
      data: {
        id,
        source: e.caller,
        target: e.callee,
        rps,
        errorRate: num(e.error_rate),
        p50: num(e.p50_ms),
        p99: num(e.p99_ms),
        onPath,
        weight,
        width: edgeWidth(weight, onPath),
        health: edgeHealth(num(e.error_rate)),
        label: formatRate(rps),
      },
    });
  }
  return { nodes, edges };
}

/**
 * layoutKey is the identity of the element set: a refresh that keeps it (same nodes, same
 * edges, same kinds, whose shapes and sizes the layout depends on) only restyles the graph;
 * any other change lays it out again.
 */
export function layoutKey(e: Elements): string {
  const ids = [...e.nodes.map((n) => `n${JSON.stringify([n.data.id, n.data.kind])}`), ...e.edges.map((x) => `e${x.data.id}`)];
  return JSON.stringify(ids.sort());
}

/** needsLayout says whether new elements must be laid out again or only restyled. */
export function needsLayout(previousKey: string | null, next: Elements): boolean {
  return previousKey !== layoutKey(next);
}

export function formatRate(rps: number): string {
  if (!Number.isFinite(rps) || rps <= 0) return '0/s';
  if (rps >= 1000) return `${(rps / 1000).toFixed(rps >= 10_000 ? 0 : 1)}k/s`;
  if (rps >= 10) return `${Math.round(rps)}/s`;
  if (rps >= 1) return `${rps.toFixed(1)}/s`;
  if (rps >= 0.01) return `${rps.toFixed(2)}/s`;
  return `${(rps * 60).toFixed(2)}/min`;
}

/**
 * edgeHealth is an edge's colour class from its error rate, with the thresholds the server
 * uses for a node's health (-topology.failing-error-rate 0.2, -topology.degraded-error-rate
 * 0.02): edges carry no health of their own in the API.
 */
export function edgeHealth(errorRate: number): Health {
  if (errorRate >= 0.2) return 'failing';
  if (errorRate >= 0.02) return 'degraded';
  return 'ok';
}

/** edgeWidth grows with the square root of the edge's share of the busiest edge's traffic. */
export function edgeWidth(weight: number, onPath: boolean): number {
  const w = 1 + 5 * Math.sqrt(Math.min(1, Math.max(0, Number.isFinite(weight) ? weight : 0)));
  return onPath ? w + 2 : w;
}

export const maxDepth = 5;

/** clampDepth reads the depth parameter: 1 by default, between 1 and maxDepth. */
export function clampDepth(s: string | null): number {
  const n = Number.parseInt(s ?? '', 10);
  if (!Number.isFinite(n)) return 1;
  return Math.min(maxDepth, Math.max(1, n));
}
