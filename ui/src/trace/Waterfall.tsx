// The trace's waterfall: one row per span (virtualised: only the rows in view are in the DOM),
// indented by depth, a bar on a time axis coloured by service, errors and the critical path
// marked, subtrees collapsible. Keyboard: ↑/↓ move, ←/→ collapse/expand (or go to the parent
// / first child), Home/End, PageUp/PageDown, Enter opens the span's details.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { formatDuration } from '../lib/time';
import type { CriticalPath, Segment } from './criticalPath';
import { offsetTicks } from './ticks';
import { visibleRows, type SpanNode, type TraceModel } from './tree';

declare global {
  interface Window {
    __faultlineTraceRenderMs?: number;
  }
}

const ROW = 24;
const AXIS = 28;
const INDENT = 14;
/** Deeper spans stop indenting (a 10,000-deep chain would push its names off screen). */
const MAX_INDENT_LEVELS = 24;

export interface WaterfallProps {
  model: TraceModel;
  cp: CriticalPath;
  collapsed: ReadonlySet<string>;
  /** Collapse (true) or expand (false) one span's subtree. */
  setCollapsed: (node: SpanNode, collapsed: boolean) => void;
  criticalOnly: boolean;
  selected: number;
  onSelect: (node: number) => void;
  /** Service → CSS colour (assignServiceColors). */
  colors: ReadonlyMap<string, string>;
}

const pct = (v: number, total: number) => `${total > 0 ? (v / total) * 100 : 0}%`;

export function Waterfall({ model, cp, collapsed, setCollapsed, criticalOnly, selected, onSelect, colors }: WaterfallProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const rows = useMemo(
    () => visibleRows(model, (n) => collapsed.has(n.id), criticalOnly ? cp.onPath : undefined),
    [model, collapsed, criticalOnly, cp],
  );
  const posOf = useMemo(() => {
    const a = new Int32Array(model.nodes.length).fill(-1);
    for (let i = 0; i < rows.length; i++) a[rows[i]] = i;
    return a;
  }, [rows, model]);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW,
    overscan: 12,
    scrollMargin: AXIS,
    initialRect: { width: 1200, height: 800 },
  });
  const items = virtualizer.getVirtualItems();

  // Tick count follows the track's width.
  const [width, setWidth] = useState(1000);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const ticks = useMemo(() => offsetTicks(model.duration, Math.max(2, Math.floor((width * 0.6) / 90))), [model.duration, width]);

  // First rows on screen: the figure the browser tests and the benchmark read.
  const [renderedAt, setRenderedAt] = useState<number | null>(null);
  const drawn = items.length > 0 || rows.length === 0;
  useEffect(() => {
    if (renderedAt !== null || !drawn) return;
    const ms = Math.round(performance.now());
    window.__faultlineTraceRenderMs = ms;
    setRenderedAt(ms);
  }, [drawn, renderedAt]);

  // Keyboard focus: one row is in the tab order; moving scrolls it into view and focuses it
  // once it is rendered.
  const [focusNode, setFocusNode] = useState(() => (selected >= 0 ? selected : (rows[0] ?? -1)));
  const wantFocus = useRef(false);
  const focusPos = focusNode >= 0 ? posOf[focusNode] : -1;
  const tabNode = focusPos >= 0 ? focusNode : (rows[0] ?? -1);
  useEffect(() => {
    if (!wantFocus.current) return;
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-node="${focusNode}"] .wf-main`);
    if (el) {
      el.focus({ preventScroll: true });
      wantFocus.current = false;
    }
  });
  const moveTo = (u: number | undefined) => {
    if (u === undefined || u < 0) return;
    setFocusNode(u);
    wantFocus.current = true;
    const p = posOf[u];
    if (p >= 0) virtualizer.scrollToIndex(p, { align: 'auto' });
  };

  // Bring the selected span into view when the selection changes (a shared link, a click in
  // the details panel), not on every collapse.
  const lastSelected = useRef(-2);
  useEffect(() => {
    if (selected === lastSelected.current) return;
    lastSelected.current = selected;
    const p = selected >= 0 ? posOf[selected] : -1;
    if (p >= 0) {
      setFocusNode(selected);
      const first = items[0]?.index ?? 0;
      const last = items[items.length - 1]?.index ?? 0;
      if (p <= first + 1 || p >= last - 1) virtualizer.scrollToIndex(p, { align: 'center' });
    }
  }, [selected, posOf, items, virtualizer]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const t = e.target as HTMLElement;
    if (!t.classList.contains('wf-main') || e.altKey || e.ctrlKey || e.metaKey) return;
    const pos = focusPos >= 0 ? focusPos : 0;
    const u = rows[pos];
    if (u === undefined) return;
    const node = model.nodes[u];
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 400) / ROW) - 2);
    switch (e.key) {
      case 'ArrowDown':
        moveTo(rows[Math.min(rows.length - 1, pos + 1)]);
        break;
      case 'ArrowUp':
        moveTo(rows[Math.max(0, pos - 1)]);
        break;
      case 'PageDown':
        moveTo(rows[Math.min(rows.length - 1, pos + page)]);
        break;
      case 'PageUp':
        moveTo(rows[Math.max(0, pos - page)]);
        break;
      case 'Home':
        moveTo(rows[0]);
        break;
      case 'End':
        moveTo(rows[rows.length - 1]);
        break;
      case 'ArrowRight':
        if (node.children.length === 0) return;
        if (collapsed.has(node.id)) setCollapsed(node, false);
        else if (rows[pos + 1] !== undefined && model.nodes[rows[pos + 1]].parent === u) moveTo(rows[pos + 1]);
        break;
      case 'ArrowLeft':
        if (node.children.length > 0 && !collapsed.has(node.id)) setCollapsed(node, true);
        else if (node.parent >= 0 && posOf[node.parent] >= 0) moveTo(node.parent);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const total = model.duration;
  const height = Math.max(rows.length * ROW, ROW);
  return (
    <div
      className="wf"
      data-testid="waterfall"
      data-rendered={renderedAt !== null ? 'true' : undefined}
      data-spans={model.nodes.length}
      data-render-ms={renderedAt ?? undefined}
    >
      <div
        ref={scrollRef}
        className="wf-scroll"
        style={{ height: AXIS + height + 2 }}
        onKeyDown={onKeyDown}
        role="tree"
        aria-label={`Spans (${rows.length} shown of ${model.nodes.length})`}
      >
        <div className="wf-axis" aria-hidden="true">
          <span className="wf-axis-label">Service · operation</span>
          <div className="wf-track">
            {ticks.map((t, i) => (
              <span key={t.value} className={i === 0 ? 'wf-tick first' : 'wf-tick'} style={{ left: pct(t.value, total || 1) }}>
                {t.label}
              </span>
            ))}
          </div>
        </div>
        <div className="wf-rows" style={{ height }}>
          <div className="wf-grid" aria-hidden="true">
            {ticks.map((t) => (
              <span key={t.value} style={{ left: pct(t.value, total || 1) }} />
            ))}
          </div>
          {items.map((item) => {
            const u = rows[item.index];
            const node = model.nodes[u];
            return (
              <Row
                key={u}
                node={node}
                color={colors.get(node.span.service) ?? 'var(--svc-0)'}
                y={item.start - AXIS}
                total={total}
                segments={cp.segments[u]}
                onPath={cp.onPath[u] === 1}
                collapsed={collapsed.has(node.id)}
                selected={u === selected}
                tabbable={u === tabNode}
                setCollapsed={setCollapsed}
                onSelect={onSelect}
                onFocusRow={setFocusNode}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

interface RowProps {
  node: SpanNode;
  color: string;
  y: number;
  total: number;
  segments: Segment[] | undefined;
  onPath: boolean;
  collapsed: boolean;
  selected: boolean;
  tabbable: boolean;
  setCollapsed: (node: SpanNode, collapsed: boolean) => void;
  onSelect: (node: number) => void;
  onFocusRow: (node: number) => void;
}

const Row = memo(function Row({ node, color, y, total, segments, onPath, collapsed, selected, tabbable, setCollapsed, onSelect, onFocusRow }: RowProps) {
  const s = node.span;
  const level = Math.min(node.depth, MAX_INDENT_LEVELS);
  const indent = 6 + level * INDENT;
  const hasKids = node.children.length > 0;
  const endFrac = total > 0 ? node.end / total : 0;
  const durText = formatDuration(node.duration);
  const label = `${s.service}: ${s.name}, ${durText}${node.error ? ', error' : ''}${onPath ? ', on the critical path' : ''}`;
  return (
    <div
      className={selected ? 'wf-row selected' : 'wf-row'}
      style={{ transform: `translateY(${y}px)` }}
      data-node={node.index}
      data-span-id={node.id}
      data-critical={onPath ? 'true' : 'false'}
      data-error={node.error ? 'true' : 'false'}
    >
      <button
        type="button"
        className="wf-main"
        tabIndex={tabbable ? 0 : -1}
        role="treeitem"
        aria-level={node.depth + 1}
        aria-expanded={hasKids ? !collapsed : undefined}
        aria-selected={selected}
        aria-label={label}
        onClick={() => onSelect(node.index)}
        onFocus={() => onFocusRow(node.index)}
      >
        <span className="wf-name" style={{ paddingLeft: indent + 20 }} title={`${s.service}: ${s.name}`}>
          {node.depth > MAX_INDENT_LEVELS && <span className="deep">{node.depth}›</span>}
          {node.error && (
            <span className="err-mark" title="Error">
              !
            </span>
          )}
          <span className="svc" style={{ borderBottom: `2px solid ${color}` }}>
            {s.service}
          </span>
          <span className="op">{s.name}</span>
        </span>
        <span className="wf-track">
          <span
            className={node.error ? 'wf-bar err' : 'wf-bar'}
            style={{ left: pct(node.start, total), width: pct(node.duration, total), background: color }}
          />
          {segments?.map(([a, b]) => (
            <span key={a} className="wf-crit" style={{ left: pct(a, total), width: pct(b - a, total) }} />
          ))}
          <span
            className={node.error ? 'wf-dur err' : 'wf-dur'}
            style={{ left: `calc(${endFrac * 100}% + 4px)` }}
          >
            {durText}
          </span>
        </span>
      </button>
      {hasKids && (
        <button
          type="button"
          className="wf-chev"
          style={{ left: indent }}
          tabIndex={-1}
          aria-label={collapsed ? `Expand ${node.children.length} child spans` : `Collapse ${node.children.length} child spans`}
          aria-expanded={!collapsed}
          title={collapsed ? `Expand (${node.children.length} children)` : 'Collapse'}
          onClick={() => setCollapsed(node, !collapsed)}
        >
          {collapsed ? '▶' : '▼'}
        </button>
      )}
    </div>
  );
});
