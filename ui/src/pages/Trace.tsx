// One trace (/traces/<trace_id>): header (root, start, duration, counts, links to the trace's
// logs and back to search), the waterfall with the critical path, and the selected span's
// details (?span=<id>, shareable).
import { useCallback, useMemo, useState } from 'react';
import { Link } from '../components/Link';
import { Empty, ErrorBox, Loading } from '../components/State';
import { ApiError, getJSON } from '../lib/api';
import { setQuery, useAsync, useRefresh, useRoute } from '../lib/hooks';
import { formatDuration, formatTime, toApi } from '../lib/time';
import { href, keepShared } from '../lib/url';
import { assignServiceColors } from '../trace/colors';
import { criticalPath, type CriticalPath } from '../trace/criticalPath';
import { lastSearch } from '../trace/lastSearch';
import { SpanDetails } from '../trace/SpanDetails';
import { ancestors, buildTree, type SpanNode, type TraceModel } from '../trace/tree';
import { Waterfall } from '../trace/Waterfall';
import type { Trace } from '../types';
import '../trace/trace.css';

export function TracePage() {
  const route = useRoute();
  return <TraceView key={route.arg} traceId={route.arg} />;
}

function TraceView({ traceId }: { traceId: string }) {
  const { tick } = useRefresh();
  const trace = useAsync((signal) => getJSON<Trace>(`/api/v1/traces/${encodeURIComponent(traceId)}`, {}, signal), [traceId, tick]);
  const model = useMemo(() => (trace.data ? buildTree(trace.data.spans ?? []) : undefined), [trace.data]);
  const cp = useMemo(() => (model ? criticalPath(model.nodes, model.roots) : undefined), [model]);
  const back = lastSearch() ?? href('/traces', keepShared(window.location.search));

  if (trace.error && !trace.data) {
    if (trace.error instanceof ApiError && trace.error.status === 404) {
      return (
        <Empty>
          <h1>Trace not found</h1>
          <p>
            No trace <span className="mono">{traceId}</span> is stored (it may be older than the retention, or not yet ingested).{' '}
            <Link href={back}>Back to search</Link>
          </p>
        </Empty>
      );
    }
    return (
      <div>
        <ErrorBox error={trace.error} what={`trace ${traceId}`} />
        <p>
          <Link href={back}>Back to search</Link>
        </p>
      </div>
    );
  }
  if (!model || !cp) return <Loading what="Loading the trace" />;
  if (model.nodes.length === 0) {
    return (
      <Empty>
        This trace has no spans. <Link href={back}>Back to search</Link>
      </Empty>
    );
  }
  return <TraceLoaded traceId={traceId} model={model} cp={cp} back={back} />;
}

function TraceLoaded({ traceId, model, cp, back }: { traceId: string; model: TraceModel; cp: CriticalPath; back: string }) {
  const route = useRoute();
  const spanParam = route.query.get('span') ?? '';
  const criticalOnly = route.query.get('critical') === 'only';
  const selected = spanParam !== '' ? (model.byId.get(spanParam) ?? -1) : -1;

  // Collapsed spans by ID (so a refreshed trace keeps them). A span selected by the URL has
  // its ancestors opened.
  const [collapsed, setCollapsedSet] = useState<ReadonlySet<string>>(() => new Set());
  const [openedFor, setOpenedFor] = useState(-1);
  if (selected >= 0 && selected !== openedFor) {
    setOpenedFor(selected);
    const anc = ancestors(model, selected);
    if (anc.some((a) => collapsed.has(model.nodes[a].id))) {
      const next = new Set(collapsed);
      for (const a of anc) next.delete(model.nodes[a].id);
      setCollapsedSet(next);
    }
  }
  const setCollapsed = useCallback((node: SpanNode, c: boolean) => {
    setCollapsedSet((prev) => {
      if (prev.has(node.id) === c) return prev;
      const next = new Set(prev);
      if (c) next.add(node.id);
      else next.delete(node.id);
      return next;
    });
  }, []);
  const collapseAll = () => setCollapsedSet(new Set(model.nodes.filter((n) => n.children.length > 0).map((n) => n.id)));
  const expandAll = () => setCollapsedSet(new Set());
  const onSelect = useCallback((u: number) => setQuery({ span: model.nodes[u]?.id }, true), [model]);
  const onClose = useCallback(() => setQuery({ span: undefined }, true), []);

  const root = model.nodes[model.mainRoot];
  const start = model.traceStart;
  const end = model.traceStart + model.duration;
  const criticalCount = useMemo(() => cp.onPath.reduce((n, x) => n + x, 0), [cp]);
  const logsHref = href('/logs', { trace_id: traceId, from: toApi(Math.floor(start - 60_000)), to: toApi(Math.ceil(end + 60_000)) });
  const servicesShown = model.services.slice(0, 30);
  const colors = useMemo(() => assignServiceColors(model.services), [model]);

  return (
    <div>
      <div className="trace-head">
        <h1>
          {root.span.service}: {root.span.name}
        </h1>
        <span className="mono hint">{traceId}</span>
      </div>
      <dl className="trace-meta">
        <div>
          <dt>Start</dt>
          <dd>{formatTime(start)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(model.duration)}</dd>
        </div>
        <div>
          <dt>Spans</dt>
          <dd>{model.nodes.length}</dd>
        </div>
        <div>
          <dt>Services</dt>
          <dd>{model.services.length}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd className={model.errorCount > 0 ? 'health-failing' : undefined}>{model.errorCount}</dd>
        </div>
        <div>
          <dt>Depth</dt>
          <dd>{model.maxDepth + 1}</dd>
        </div>
        {model.roots.length > 1 && (
          <div>
            <dt>Roots</dt>
            <dd title="Spans whose parent is not in the trace are shown as roots">{model.roots.length}</dd>
          </div>
        )}
      </dl>
      <div className="toolbar">
        <Link href={logsHref} data-testid="trace-logs-link">
          Logs of this trace
        </Link>
        <Link href={back}>Back to search</Link>
        <div className="trace-legend" aria-label="Service colours">
          {servicesShown.map((s) => (
            <span key={s}>
              <span className="sw" style={{ background: colors.get(s) }} />
              {s}
            </span>
          ))}
          {model.services.length > servicesShown.length && <span>+{model.services.length - servicesShown.length} more</span>}
        </div>
      </div>

      <div className={selected >= 0 ? 'trace-body with-details' : 'trace-body'}>
        <section aria-label="Timeline" style={{ minWidth: 0 }}>
          <div className="wf-toolbar">
            <button type="button" className="btn" onClick={collapseAll}>
              Collapse all
            </button>
            <button type="button" className="btn" onClick={expandAll}>
              Expand all
            </button>
            <label>
              <input type="checkbox" checked={criticalOnly} onChange={(e) => setQuery({ critical: e.target.checked ? 'only' : undefined }, true)} />
              Critical path only
            </label>
            <span className="hint">
              <span className="crit-key" />
              critical path: {criticalCount} span{criticalCount === 1 ? '' : 's'}
            </span>
            <span className="hint">↑/↓ move, ←/→ collapse/expand, Enter opens details</span>
          </div>
          <Waterfall
            model={model}
            cp={cp}
            collapsed={collapsed}
            setCollapsed={setCollapsed}
            criticalOnly={criticalOnly}
            selected={selected}
            onSelect={onSelect}
            colors={colors}
          />
        </section>
        {selected >= 0 && <SpanDetails model={model} cp={cp} traceId={traceId} node={selected} onSelect={onSelect} onClose={onClose} color={colors.get(model.nodes[selected].span.service) ?? 'var(--svc-0)'} />}
      </div>
      {spanParam !== '' && selected < 0 && <p className="hint error">Span {spanParam} is not in this trace.</p>}
    </div>
  );
}
