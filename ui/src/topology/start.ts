// The topology page's data: its requests for a range, and the graph's answer with its layout
// started as soon as it arrives. startTopology makes them from the app's entry, before React
// and the pages have loaded, and the page then takes what it started.
import { getJSON, prefetch } from '../lib/api';
import { loadedAt, rangeFromQuery, resolveRange, toApi, type Resolved } from '../lib/time';
import type { Topology } from '../types';
import { buildElements, clampDepth, neighbourhood, restrict } from './model';
import { positionsFor } from './positions';

/** topologyRequests are the parameters of the graph's and the analysis' calls, and the incidents'. */
export function topologyRequests(r: Resolved) {
  const params = { start: toApi(r.start), end: toApi(r.end) };
  return { params, incidents: { ...params, limit: '100' } };
}

/** When each topology answer arrived (performance.now()), for the render time the graph reports. */
export const receivedAt = new WeakMap<Topology, number>();

async function fetchTopology(params: Record<string, string>, focus: string, depth: number, signal?: AbortSignal): Promise<Topology> {
  const a = await getJSON<Partial<Topology> | null>('/api/v1/topology', params, signal);
  const t: Topology = { nodes: a?.nodes ?? [], edges: a?.edges ?? [] };
  receivedAt.set(t, performance.now());
  performance.mark('topology:data');
  // The layout starts now, in its worker, while React draws the page; the graph picks it up.
  // (A refresh with the same element set finds it done.)
  const shown = restrict(t, focus !== '' ? neighbourhood(t, focus, depth) : null);
  if (shown.nodes.length > 0) void positionsFor(buildElements(shown, null, 1));
  return t;
}

let started: { key: string; answer: Promise<Topology> } | null = null;

/** loadTopology is the graph for the page: the one startTopology fetched when it is the same. */
export function loadTopology(params: Record<string, string>, focus: string, depth: number, signal?: AbortSignal): Promise<Topology> {
  const key = JSON.stringify([params, focus, depth]);
  if (started?.key === key) {
    const { answer } = started;
    started = null;
    return answer;
  }
  return fetchTopology(params, focus, depth, signal);
}

/**
 * startTopology starts the page's three requests, the graph's code (Cytoscape) and, when the
 * graph arrives, its layout, while the rest of the app loads: on a 200-service graph that is
 * a third of the time to the first drawing.
 */
export function startTopology(): void {
  void import('./Graph');
  const q = new URLSearchParams(window.location.search);
  const { params, incidents } = topologyRequests(resolveRange(rangeFromQuery(q), loadedAt));
  const focus = q.get('focus') ?? '';
  const depth = clampDepth(q.get('depth'));
  const answer = fetchTopology(params, focus, depth);
  answer.catch(() => {}); // the page reports it
  started = { key: JSON.stringify([params, focus, depth]), answer };
  prefetch('/api/v1/rca', params);
  prefetch('/api/v1/incidents', incidents);
}
