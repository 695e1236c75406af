// The home page: the live service graph coloured by health, the failure drawn on it (what
// failed first, who suffered, the path), a searchable service list, and the service panel.
// URL: service= (the open panel), q= (the list's filter), focus= and depth= (one service's
// neighbourhood), plus the shared from/to/refresh.
import { useCallback, useMemo, useState } from 'react';
import { Link } from '../components/Link';
import { Empty, ErrorBox, Loading } from '../components/State';
import { getJSON } from '../lib/api';
import { formatValue } from '../lib/format';
import { setQuery, useAsync, useRefresh, useRoute, useTimeRange } from '../lib/hooks';
import { formatDuration } from '../lib/time';
import { href, keepShared } from '../lib/url';
import type { Incident, RCA } from '../types';
import {
  buildElements,
  chooseOverlay,
  clampDepth,
  formatRate,
  matches,
  maxDepth,
  neighbourhood,
  orderServices,
  perSecond,
  restrict,
  roles,
  type Overlay,
} from '../topology/model';
import { loadTopology, receivedAt, topologyRequests } from '../topology/start';
import { ServicePanel } from './ServicePanel';
import '../topology/topology.css';

// Cytoscape (half of the app's code) is loaded only by this page, while its data loads. The
// data is handed to the page only once the code is here too: a lazy component would suspend,
// and React holds a suspended boundary's content back for 300 ms after it is ready.
let graphModule: typeof import('../topology/Graph') | undefined;
const loadGraph = () => import('../topology/Graph').then((m) => (graphModule = m));

export function TopologyPage() {
  const route = useRoute();
  const { tick } = useRefresh();
  const { resolved } = useTimeRange();
  const q = route.query;
  const selected = q.get('service') ?? '';
  const focus = q.get('focus') ?? '';
  const depth = clampDepth(q.get('depth'));
  const search = q.get('q') ?? '';
  const { params, incidents: incidentParams } = topologyRequests(resolved);
  const deps = [resolved.start, resolved.end, tick];

  const topo = useAsync((signal) => Promise.all([loadTopology(params, focus, depth, signal), loadGraph()]).then(([t]) => t), deps);
  const rca = useAsync((signal) => getJSON<RCA>('/api/v1/rca', params, signal), deps);

  // The detector's incidents win over the range's analysis (see chooseOverlay); a failed
  // incidents call (503 while the detector is off) leaves the analysis to speak.
  const incidents = useAsync((signal) => getJSON<{ incidents: Incident[] | null }>('/api/v1/incidents', incidentParams, signal), deps);
  const overlay = useMemo(() => chooseOverlay(rca.data, incidents.data?.incidents, resolved.end), [rca.data, incidents.data, resolved.end]);
  const role = useMemo(() => roles(overlay), [overlay]);
  const rangeMs = resolved.end - resolved.start;
  const full = topo.data;
  const keep = useMemo(() => (full && focus !== '' ? neighbourhood(full, focus, depth) : null), [full, focus, depth]);
  const shown = useMemo(() => (full ? restrict(full, keep) : undefined), [full, keep]);
  const elements = useMemo(() => (shown ? buildElements(shown, overlay, rangeMs) : undefined), [shown, overlay, rangeMs]);
  const listed = useMemo(() => (shown ? orderServices(shown.nodes, overlay) : []), [shown, overlay]);
  const visible = useMemo(() => listed.filter((n) => matches(n.service, search)), [listed, search]);
  const dim = useMemo(() => (search.trim() === '' ? null : new Set(visible.map((n) => n.service))), [search, visible]);
  const impact = useMemo(() => new Map(overlay?.affected.map((a) => [a.service, a.impact])), [overlay]);

  const open = useCallback((service: string) => setQuery({ service }), []);
  const close = useCallback(() => setQuery({ service: undefined }), []);

  if (topo.error && !topo.data) return <ErrorBox error={topo.error} what="the topology" />;
  if (!full || !elements) return <Loading what="Loading the topology" />;

  const node = full.nodes.find((n) => n.service === selected);
  const Graph = graphModule?.Graph;
  const analysisLoading = !overlay && ((!rca.data && !rca.error) || (!incidents.data && !incidents.error));
  return (
    <div className="topology-page">
      <div className="topo-head">
        <h1>
          Topology{' '}
          <span className="hint">
            {full.nodes.length} nodes, {full.edges.length} edges
          </span>
        </h1>
        <Banner overlay={overlay} loading={analysisLoading} error={rca.error && !rca.data ? rca.error : undefined} />
      </div>
      <FocusBar key={focus} services={full.nodes.map((n) => n.service)} focus={focus} depth={depth} found={keep !== null} shown={keep?.size ?? 0} total={full.nodes.length} />
      {topo.error && <p className="hint error">The last refresh failed ({topo.error.message}); showing the previous answer.</p>}
      <div className="topo-body">
        <div className="topo-list">
          <input
            type="search"
            data-search
            placeholder="Filter services (/)"
            aria-label="Filter services"
            value={search}
            onChange={(e) => setQuery({ q: e.target.value }, true)}
          />
          {listed.length > 0 && (
            <span className="hint">
              {visible.length === listed.length ? `${listed.length} services` : `${visible.length} of ${listed.length} services`}
            </span>
          )}
          {full.nodes.length === 0 ? (
            <Empty>No services in this range. Send OTLP traces to Faultline (ports 4317/4318) or widen the range.</Empty>
          ) : visible.length === 0 ? (
            <Empty>No service matches “{search}”.</Empty>
          ) : (
            <ul aria-label="Services">
              {visible.map((n) => {
                const r = role.get(n.service) ?? '';
                return (
                  <li key={n.service}>
                    <button
                      type="button"
                      className={`topo-item${selected === n.service ? ' selected' : ''}`}
                      data-service={n.service}
                      data-health={n.health}
                      data-role={r}
                      aria-pressed={selected === n.service}
                      onClick={() => open(n.service)}
                    >
                      <span className={`dot health-${n.health}`} aria-hidden="true" />
                      <span className="name" title={n.service}>
                        {n.service}
                      </span>
                      {r === 'root-cause' && <span className="topo-role root-cause">root cause</span>}
                      {r === 'affected' && <span className="topo-role affected">affected {formatValue(impact.get(n.service), 'ratio')}</span>}
                      <span className="figures">
                        <span className="sr-only">{n.health}, </span>
                        {formatRate(perSecond(n.requests, rangeMs))} · {formatValue(n.error_rate, 'ratio')} errors · p99 {formatDuration(n.p99_ms)}
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </div>
        {elements.nodes.length > 0 && Graph ? (
          <Graph elements={elements} since={receivedAt.get(full) ?? performance.now()} selected={selected} dim={dim} onOpen={open} />
        ) : (
          <div className="topo-graph-wrap">
            <Empty>Nothing to draw.</Empty>
          </div>
        )}
      </div>
      {selected !== '' && (
        <ServicePanel
          key={selected}
          service={selected}
          node={node}
          role={role.get(selected) ?? ''}
          impact={impact.get(selected)}
          resolved={resolved}
          onClose={close}
          onFocus={() => setQuery({ focus: selected, service: undefined })}
        />
      )}
    </div>
  );
}

function Banner({ overlay, loading, error }: { overlay: Overlay | null; loading: boolean; error?: Error }) {
  const shared = keepShared(window.location.search);
  if (loading) return null;
  if (!overlay) {
    return (
      <div className="topo-calm" data-testid="incident-none" role="status">
        {error ? (
          <span className="hint error">The root cause analysis failed: {error.message}</span>
        ) : (
          <>
            <span className="dot health-ok" aria-hidden="true" /> No incident in this range.
          </>
        )}{' '}
        <Link href={href('/incidents', shared)}>Incidents</Link>
      </div>
    );
  }
  // The Incidents page opens on the ongoing incident.
  return (
    <div className="topo-banner" data-testid="incident-banner" role="status">
      <span>{overlay.summary}</span> <Link href={href('/incidents', overlay.incident ? keepShared(window.location.search, { id: overlay.incident }) : shared)}>Open the incident</Link>
    </div>
  );
}

/** FocusBar sets or clears focus= (one service's neighbourhood) and depth=. */
function FocusBar({ services, focus, depth, found, shown, total }: { services: string[]; focus: string; depth: number; found: boolean; shown: number; total: number }) {
  const [draft, setDraft] = useState(focus);
  const sorted = useMemo(() => [...services].sort((a, b) => a.localeCompare(b)), [services]);
  const known = services.includes(draft.trim());
  return (
    <form
      className="toolbar topo-focus"
      aria-label="Neighbourhood"
      onSubmit={(e) => {
        e.preventDefault();
        if (known) setQuery({ focus: draft.trim() });
      }}
    >
      <label>
        Focus on{' '}
        <input list="topo-services" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="a service" aria-invalid={draft.trim() !== '' && !known} />
      </label>
      <datalist id="topo-services">
        {sorted.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <label>
        depth{' '}
        <select value={depth} onChange={(e) => setQuery({ depth: e.target.value === '1' ? undefined : e.target.value }, true)} aria-label="Neighbourhood depth">
          {Array.from({ length: maxDepth }, (_, i) => i + 1).map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="btn" disabled={!known}>
        Focus
      </button>
      {focus !== '' && (
        <>
          <button type="button" className="btn" onClick={() => setQuery({ focus: undefined, depth: undefined })}>
            Show all
          </button>
          {found ? (
            <span className="hint">
              {shown} of {total} nodes within {depth} call{depth === 1 ? '' : 's'} of <strong>{focus}</strong>
            </span>
          ) : (
            <span className="hint error">{focus} is not in the graph for this range.</span>
          )}
        </>
      )}
    </form>
  );
}
