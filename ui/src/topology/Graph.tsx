// The topology graph: Cytoscape on a canvas, laid out left to right (callers before callees)
// in a worker: by ELK up to bigGraph nodes, by dagre beyond (dagre.ts says why). A refresh
// that keeps the same nodes and edges only updates their data (colours, widths, labels), so
// the picture does not move; a new element set is laid out again and shown once its
// positions are known.
import cytoscape from 'cytoscape';
import { useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import { formatValue } from '../lib/format';
import { maxFitZoom, viewportFor } from './layout';
import { layoutKey, needsLayout, type EdgeData, type Elements, type NodeData } from './model';
import { pageFont, positionsFor, type Laid } from './positions';
import { RedStats } from './RedStats';
import { shapeOf, stylesheet } from './style';

// Edge labels (rates) and curves help on a small graph; a big one is drawn plainer.
const bigEdges = 60;
const fitPadding = 24;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

type Hover = { x: number; y: number; node?: NodeData; edge?: EdgeData };

export interface GraphProps {
  elements: Elements;
  /** performance.now() when the data behind these elements arrived. */
  since: number;
  selected: string;
  /** Services matching the list's filter (null: no filter); the others are faded. */
  dim: Set<string> | null;
  onOpen: (service: string) => void;
}

export function Graph({ elements, since, selected, dim, onOpen }: GraphProps) {
  const box = useRef<HTMLDivElement>(null);
  const cyRef = useRef<cytoscape.Core | null>(null);
  /** The layout key of the elements in Cytoscape, or being laid out. */
  const keyRef = useRef<string | null>(null);
  const seqRef = useRef(0);
  const latest = useRef(elements);
  latest.current = elements;
  const openRef = useRef(onOpen);
  openRef.current = onOpen;
  const [first, setFirst] = useState<{ renderMs: number; navigationMs: number } | null>(null);
  const [laidOut, setLaidOut] = useState(0);
  const [laying, setLaying] = useState(false);
  const [layoutFailed, setLayoutFailed] = useState(false);
  const [hover, setHover] = useState<Hover | null>(null);
  const big = elements.edges.length > bigEdges;

  useEffect(() => {
    const cy = cytoscape({
      container: box.current,
      minZoom: 0.05,
      maxZoom: 4,
      boxSelectionEnabled: false,
      autounselectify: true,
    });
    cyRef.current = cy;
    cy.on('tap', 'node', (e) => openRef.current(e.target.id()));
    cy.on('mouseover', 'node', (e) => setHover({ x: e.renderedPosition.x, y: e.renderedPosition.y, node: e.target.data() }));
    cy.on('mouseover', 'edge', (e) => setHover({ x: e.renderedPosition.x, y: e.renderedPosition.y, edge: e.target.data() }));
    cy.on('mouseout', 'node, edge', () => setHover(null));
    cy.on('viewport', () => setHover(null));
    const setCursor = (c: string) => {
      if (box.current) box.current.style.cursor = c;
    };
    cy.on('mouseover', 'node', () => setCursor('pointer'));
    cy.on('mouseout', 'node', () => setCursor(''));
    // The container changes size with the window and the page's layout, not only the window.
    const ro = new ResizeObserver(() => cy.resize());
    if (box.current) ro.observe(box.current);
    return () => {
      ro.disconnect();
      cy.destroy();
      cyRef.current = null;
      keyRef.current = null;
      seqRef.current++;
    };
  }, []);

  // Theme: the stylesheet is rebuilt from the CSS variables when <html data-theme> or the
  // system's scheme changes.
  const [themeTick, setThemeTick] = useState(0);
  useEffect(() => {
    const bump = () => setThemeTick((t) => t + 1);
    const mo = new MutationObserver(bump);
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    mq.addEventListener('change', bump);
    return () => {
      mo.disconnect();
      mq.removeEventListener('change', bump);
    };
  }, []);
  useEffect(() => {
    cyRef.current?.style(stylesheet(cssVar, pageFont(), big));
  }, [themeTick, big]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    if (!needsLayout(keyRef.current, elements)) {
      // Same nodes and edges: new figures only. (While their layout is still running, it
      // adds the latest elements when it ends.)
      if (cy.elements().length > 0) {
        cy.batch(() => {
          for (const n of elements.nodes) cy.getElementById(n.data.id).data(n.data);
          for (const e of elements.edges) cy.getElementById(e.data.id).data(e.data);
        });
      }
      return;
    }
    keyRef.current = layoutKey(elements);
    const seq = ++seqRef.current;
    const started = since;
    setLaying(true);
    const show = ({ positions: pos, bounds, routes, failed }: Laid) => {
      if (cy.destroyed() || seq !== seqRef.current) return;
      const el = latest.current;
      cy.batch(() => {
        cy.elements().remove();
        cy.add([
          ...el.nodes.map((n) => ({ group: 'nodes' as const, data: n.data, position: pos.get(n.data.id) ?? { x: 0, y: 0 } })),
          ...el.edges.map((e) => {
            const r = routes.get(e.data.id);
            return r ? { group: 'edges' as const, data: { ...e.data, sw: r.weights, sd: r.distances }, classes: 'routed' } : { group: 'edges' as const, data: e.data };
          }),
        ]);
      });
      cy.viewport(viewportFor(bounds, cy.width(), cy.height(), fitPadding, cy.minZoom()));
      performance.mark('topology:drawn');
      setLaying(false);
      setLayoutFailed(failed);
      setLaidOut((n) => n + 1);
      // Stamped on the next frame: Cytoscape draws the new elements on this one.
      requestAnimationFrame(() => {
        if (cy.destroyed()) return;
        performance.mark('topology:painted');
        setFirst((prev) => {
          if (prev !== null) return prev;
          const now = performance.now();
          const renderMs = Math.round(now - started);
          return { renderMs, navigationMs: Math.round(now) };
        });
      });
    };
    void positionsFor(elements).then(show);
  }, [elements, since]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.batch(() => {
      cy.nodes('.selected').removeClass('selected');
      if (selected !== '') cy.getElementById(selected).addClass('selected');
      cy.elements('.faded').removeClass('faded');
      if (dim) {
        cy.nodes().forEach((n) => {
          if (!dim.has(n.id())) n.addClass('faded');
        });
        cy.edges().forEach((e) => {
          if (!dim.has(e.source().id()) && !dim.has(e.target().id())) e.addClass('faded');
        });
      }
    });
  }, [selected, dim, laidOut]);

  // The service panel is a drawer over the graph's right side: a node it would hide is
  // brought into the part still visible.
  useEffect(() => {
    const cy = cyRef.current;
    const el = box.current;
    if (!cy || !el || selected === '') return;
    const n = cy.getElementById(selected);
    if (n.empty()) return;
    const c = el.getBoundingClientRect();
    const panel = document.querySelector('[data-testid="service-panel"]');
    const right = panel ? Math.min(c.right, panel.getBoundingClientRect().left) : c.right;
    const p = n.renderedPosition();
    const x = c.left + p.x;
    const margin = 80;
    if (right - c.left < 2 * margin) return;
    const dx = x > right - margin ? right - margin - x : x < c.left + margin ? c.left + margin - x : 0;
    const dy = p.y < margin ? margin - p.y : p.y > c.height - margin ? c.height - margin - p.y : 0;
    if (dx !== 0 || dy !== 0) cy.animate({ panBy: { x: dx, y: dy } }, { duration: 200 });
  }, [selected, laidOut]);

  const fit = () => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.fit(undefined, fitPadding);
    if (cy.zoom() > maxFitZoom) cy.zoom({ level: maxFitZoom, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  };
  const zoom = (f: number) => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.zoom({ level: cy.zoom() * f, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  };
  const kinds = useMemo(() => [...new Set(elements.nodes.map((n) => String(n.data.kind)))].sort(), [elements]);
  const hasPath = elements.edges.some((e) => e.data.onPath);

  return (
    <div className="topo-graph-wrap">
      <div
        ref={box}
        className="topo-graph"
        data-testid="topology-graph"
        data-rendered={first !== null ? 'true' : 'false'}
        data-nodes={elements.nodes.length}
        data-edges={elements.edges.length}
        // data-render-ms (since navigation start, as the waterfall's) is what the benchmark
        // reports; data-draw-ms is the part from the data's arrival.
        data-render-ms={first?.navigationMs}
        data-draw-ms={first?.renderMs}
        role="img"
        aria-label={`Service graph: ${elements.nodes.length} nodes, ${elements.edges.length} edges. The service list has the same services.`}
      />
      {laying && <div className="topo-laying">{first === null ? `Laying out ${elements.nodes.length} nodes…` : 'Updating the layout…'}</div>}
      {layoutFailed && <div className="topo-laying hint error">The layout failed; the services are shown in a grid.</div>}
      <div className="topo-controls">
        <button type="button" className="btn" onClick={() => zoom(1.25)} aria-label="Zoom in" title="Zoom in">
          +
        </button>
        <button type="button" className="btn" onClick={() => zoom(0.8)} aria-label="Zoom out" title="Zoom out">
          −
        </button>
        <button type="button" className="btn" onClick={fit} title="Fit the whole graph">
          Fit
        </button>
      </div>
      <Legend kinds={kinds} path={hasPath} />
      {hover && <Tooltip hover={hover} width={box.current?.clientWidth ?? 0} height={box.current?.clientHeight ?? 0} />}
    </div>
  );
}

const legendNames: Record<string, string> = { service: 'service', database: 'database', cache: 'cache', external: 'external API', messaging: 'messaging', uninstrumented: 'not instrumented' };

/** ShapeIcon draws a node kind's shape as Cytoscape does (near enough to tell them apart). */
function ShapeIcon({ kind }: { kind: string }) {
  const common = { fill: 'var(--unknown)', stroke: 'var(--border)', strokeWidth: 1 };
  let el;
  switch (shapeOf(kind)) {
    case 'round-rectangle':
      el = <rect x="1" y="3" width="16" height="10" rx="3" {...common} />;
      break;
    case 'barrel':
      el = <path d="M3 2 Q9 0 15 2 Q17 8 15 14 Q9 16 3 14 Q1 8 3 2 Z" {...common} />;
      break;
    case 'hexagon':
      el = <polygon points="5,2 13,2 17,8 13,14 5,14 1,8" {...common} />;
      break;
    case 'diamond':
      el = <polygon points="9,1 17,8 9,15 1,8" {...common} />;
      break;
    case 'rhomboid':
      el = <polygon points="5,3 17,3 13,13 1,13" {...common} />;
      break;
    default:
      el = <circle cx="9" cy="8" r="6.5" {...common} strokeDasharray={kind === 'uninstrumented' ? '2 1.5' : undefined} />;
  }
  return (
    <svg width="18" height="16" viewBox="0 0 18 16" aria-hidden="true">
      {el}
    </svg>
  );
}

function Legend({ kinds, path }: { kinds: string[]; path: boolean }) {
  return (
    <div className="topo-legend" aria-label="Legend">
      {kinds.map((k) => (
        <span key={k}>
          <ShapeIcon kind={k} /> {legendNames[k] ?? k}
        </span>
      ))}
      <span>
        <i className="swatch" style={{ background: 'var(--ok)' }} /> ok
      </span>
      <span>
        <i className="swatch" style={{ background: 'var(--degraded)' }} /> degraded
      </span>
      <span>
        <i className="swatch" style={{ background: 'var(--failing)' }} /> failing
      </span>
      <span>
        <i className="swatch ring root" /> root cause
      </span>
      <span>
        <i className="swatch ring affected" /> affected
      </span>
      {path && (
        <span>
          <i className="swatch line" /> failure path
        </span>
      )}
    </div>
  );
}

function Tooltip({ hover, width, height }: { hover: Hover; width: number; height: number }) {
  // Beside the pointer, flipped to stay inside the graph.
  const style: CSSProperties = {};
  if (hover.x > width - 280) style.right = width - hover.x + 14;
  else style.left = hover.x + 14;
  if (hover.y > height - 160) style.bottom = height - hover.y + 14;
  else style.top = hover.y + 14;
  if (hover.node) {
    const n = hover.node;
    return (
      <div className="topo-tooltip" style={style} role="tooltip">
        <strong>{n.label}</strong> <span className="hint">{legendNames[n.kind] ?? n.kind}</span>
        {n.role !== '' && (
          <div className={`topo-role ${n.role}`}>{n.role === 'root-cause' ? 'root cause' : `affected (impact ${formatValue(n.impact, 'ratio')})`}</div>
        )}
        <RedStats rateLabel="requests" rps={n.rps} errorRate={n.errorRate} p50={n.p50} p99={n.p99}>
          <dt>health</dt>
          <dd className={`health-${n.health}`}>{n.health}</dd>
        </RedStats>
      </div>
    );
  }
  const e = hover.edge!;
  return (
    <div className="topo-tooltip" style={style} role="tooltip">
      <strong>{e.source}</strong> → <strong>{e.target}</strong>
      {e.onPath && <div className="topo-role root-cause">on the failure path</div>}
      <RedStats rateLabel="calls" rps={e.rps} errorRate={e.errorRate} p50={e.p50} p99={e.p99} />
    </div>
  );
}
