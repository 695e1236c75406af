// Logs (/logs): search the log store (free text, service, host, trace, severity, all in the
// URL) over the range, newest first; live tail polls for new lines every 2 s.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from '../components/Link';
import { Empty, ErrorBox, Loading } from '../components/State';
import { getJSON } from '../lib/api';
import { setQuery, useAsync, useRefresh, useRoute, useTimeRange } from '../lib/hooks';
import { toApi } from '../lib/time';
import { href, keepShared } from '../lib/url';
import { filtersFromQuery, filtersToQuery, severities, severityClass, validTraceId, type LogFilters } from '../logs/filters';
import { attributeEntries, isLongBody, logTime } from '../logs/format';
import { maxRows } from '../logs/tail';
import { useLogs } from '../logs/useLogs';
import type { LogRecord } from '../types';
import '../logs/logs.css';

const limits = [100, 500, 1000, 5000];
const defaultLimit = 500;

// Stable identities for rows (identical records can repeat), for React keys and expansion.
const ids = new WeakMap<LogRecord, number>();
let nextId = 1;
function idOf(r: LogRecord): number {
  let id = ids.get(r);
  if (id === undefined) ids.set(r, (id = nextId++));
  return id;
}

export function LogsPage() {
  const route = useRoute();
  const { range, resolved } = useTimeRange();
  const { tick, now } = useRefresh();
  const filters = filtersFromQuery(route.query);
  const limitParam = Number(route.query.get('limit'));
  const limit = limits.includes(limitParam) ? limitParam : defaultLimit;
  const searchKey = JSON.stringify([filters, range.from, filters.live ? 'now' : range.to, limit]);

  const [scrolled, setScrolled] = useState(false);
  const [hovering, setHovering] = useState(false);
  const paused = filters.live && (scrolled || hovering);
  const logs = useLogs({ filters, searchKey, resolved, limit, tick, paused });

  const services = useAsync(
    (signal) => getJSON<{ services: string[] }>('/api/v1/services', { start: toApi(resolved.start), end: toApi(resolved.end) }, signal).catch(() => ({ services: [] })),
    [resolved.start, resolved.end],
  );

  const scrollRef = useRef<HTMLDivElement>(null);
  // A new search starts at the top, unpaused.
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
    setScrolled(false);
  }, [searchKey]);
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const toggle = (key: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(key)) n.delete(key);
      else n.add(key);
      return n;
    });

  const rows = logs.rows;
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 30,
    overscan: 12,
    getItemKey: (i) => idOf(rows[i]),
    useFlushSync: false,
  });

  const showNew = () => {
    scrollRef.current?.scrollTo({ top: 0 });
    setScrolled(false);
    logs.flush();
  };

  const setLive = (on: boolean) => {
    setScrolled(false);
    setQuery({ live: on ? '1' : undefined }, true);
  };

  return (
    <div className="logs-page">
      <h1>Logs</h1>
      <FilterBar filters={filters} limit={limit} services={services.data?.services ?? []} onLive={setLive} />
      <div className="logs-status" aria-live="polite">
        {filters.live ? (
          <span className="live-note">
            <span className={`live-dot${paused ? ' paused' : ''}`} aria-hidden="true" /> {paused ? 'Live tail paused' : 'Live tail'}: from {range.from} to now (the range end is
            ignored), newest first, at most {maxRows.toLocaleString()} lines.
          </span>
        ) : (
          logs.truncated && <span className="hint">Showing the newest {limit.toLocaleString()} lines; narrow the search or the range to see older ones.</span>
        )}
        {logs.tailError && <span className="hint error">Live tail: {logs.tailError.message}</span>}
        {logs.gap && <span className="hint">More lines arrived than one poll reads; some were skipped.</span>}
        {!logs.loading && !logs.error && rows.length > 0 && <span className="hint">{rows.length.toLocaleString()} lines</span>}
      </div>
      {logs.error && <ErrorBox error={logs.error} what="logs" />}
      {logs.loading && rows.length === 0 && !logs.error && <Loading what="Searching logs" />}
      {!logs.loading && !logs.error && rows.length === 0 && (
        <Empty>{filters.live ? 'No log lines yet; new ones appear here as they arrive.' : 'No log lines match this search in this time range.'}</Empty>
      )}
      {rows.length > 0 && (
        <div className="log-table" role="table" aria-label="Log lines" aria-rowcount={rows.length} aria-busy={logs.loading}>
          <div className="log-head" role="row">
            <span role="columnheader">Time</span>
            <span role="columnheader">Severity</span>
            <span role="columnheader">Service</span>
            <span role="columnheader">Host</span>
            <span role="columnheader">Message</span>
          </div>
          {logs.pending.length > 0 && (
            <button type="button" className="btn primary new-lines" onClick={showNew}>
              {logs.pending.length >= maxRows ? `${maxRows.toLocaleString()}+` : logs.pending.length.toLocaleString()} new line{logs.pending.length === 1 ? '' : 's'}
            </button>
          )}
          <div
            ref={scrollRef}
            className="log-scroll"
            role="rowgroup"
            onScroll={(e) => setScrolled(e.currentTarget.scrollTop > 4)}
            onMouseEnter={() => setHovering(true)}
            onMouseLeave={() => setHovering(false)}
          >
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {virtualizer.getVirtualItems().map((item) => {
                const r = rows[item.index];
                const id = idOf(r);
                return (
                  <div
                    key={item.key}
                    ref={virtualizer.measureElement}
                    data-index={item.index}
                    className="log-row-wrap"
                    style={{ transform: `translateY(${item.start}px)` }}
                  >
                    <LogRow r={r} now={now} bodyOpen={open.has(`b${id}`)} attrsOpen={open.has(`a${id}`)} onToggle={(what) => toggle(`${what}${id}`)} />
                  </div>
                );
              })}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}

function LogRow({ r, now, bodyOpen, attrsOpen, onToggle }: { r: LogRecord; now: number; bodyOpen: boolean; attrsOpen: boolean; onToggle: (what: 'a' | 'b') => void }) {
  const long = isLongBody(r.body ?? '');
  const attrs = attributeEntries(r.attributes);
  const sev = severityClass(r.severity ?? '', r.severity_number);
  return (
    <div className="log-row" role="row" data-testid="log-row">
      <span className="log-time mono" role="cell" title={r.time}>
        {logTime(r.time, now)}
      </span>
      <span className={`log-sev ${sev}`} role="cell">
        {r.severity || '–'}
      </span>
      <span className="log-service" role="cell">
        {r.service ? (
          <button type="button" className="linkbtn" title={`Only ${r.service}`} onClick={() => setQuery({ service: r.service }, false)}>
            {r.service}
          </button>
        ) : (
          '–'
        )}
      </span>
      <span className="log-host" role="cell">
        {r.host ? (
          <button type="button" className="linkbtn" title={`Only ${r.host}`} onClick={() => setQuery({ host: r.host }, false)}>
            {r.host}
          </button>
        ) : (
          '–'
        )}
      </span>
      <div className="log-main" role="cell">
        <pre className={`log-body${long && !bodyOpen ? ' collapsed' : ''}`}>{r.body}</pre>
        <div className="log-actions">
          {long && (
            <button type="button" className="linkbtn" aria-expanded={bodyOpen} onClick={() => onToggle('b')}>
              {bodyOpen ? 'less' : 'more'}
            </button>
          )}
          {attrs.length > 0 && (
            <button type="button" className="linkbtn" aria-expanded={attrsOpen} onClick={() => onToggle('a')}>
              attributes ({attrs.length})
            </button>
          )}
          {r.trace_id && (
            <Link data-testid="log-trace-link" href={href(`/traces/${encodeURIComponent(r.trace_id)}`, keepShared(window.location.search))} title={`Trace ${r.trace_id}`}>
              trace
            </Link>
          )}
        </div>
        {attrsOpen && (
          <dl className="log-attrs">
            {r.span_id && (
              <div>
                <dt>span_id</dt>
                <dd className="mono">{r.span_id}</dd>
              </div>
            )}
            {attrs.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd className="mono">{v}</dd>
              </div>
            ))}
          </dl>
        )}
      </div>
    </div>
  );
}

/** FilterBar edits the text filters as drafts applied on Enter or Apply; selects apply at once. */
function FilterBar({ filters, limit, services, onLive }: { filters: LogFilters; limit: number; services: string[]; onLive: (on: boolean) => void }) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => {
    setDraft((d) => ({ ...d, q: filters.q, service: filters.service, host: filters.host, trace_id: filters.trace_id }));
  }, [filters.q, filters.service, filters.host, filters.trace_id]);
  const traceOk = draft.trace_id === '' || validTraceId(draft.trace_id.trim());
  const dirty = draft.q !== filters.q || draft.service !== filters.service || draft.host !== filters.host || draft.trace_id !== filters.trace_id;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!traceOk) return;
    setQuery(filtersToQuery({ ...filters, q: draft.q, service: draft.service.trim(), host: draft.host.trim(), trace_id: draft.trace_id.trim().toLowerCase() }));
  };
  const any = filters.q || filters.service || filters.host || filters.trace_id || filters.severity;
  return (
    <form className="toolbar log-filters" role="search" onSubmit={submit}>
      <input
        type="search"
        data-search
        className="log-q"
        placeholder='Search: words, "a phrase", -excluded (/)'
        aria-label="Search log bodies"
        value={draft.q}
        onChange={(e) => setDraft({ ...draft, q: e.target.value })}
      />
      <input list="log-services" placeholder="service" aria-label="Service" value={draft.service} onChange={(e) => setDraft({ ...draft, service: e.target.value })} size={14} />
      <datalist id="log-services">
        {services.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      <input placeholder="host" aria-label="Host" value={draft.host} onChange={(e) => setDraft({ ...draft, host: e.target.value })} size={12} />
      <input
        placeholder="trace ID"
        aria-label="Trace ID"
        className="mono"
        value={draft.trace_id}
        aria-invalid={!traceOk}
        onChange={(e) => setDraft({ ...draft, trace_id: e.target.value })}
        size={20}
      />
      <select aria-label="Minimum severity" value={filters.severity} onChange={(e) => setQuery({ severity: e.target.value }, true)}>
        <option value="">any severity</option>
        {severities.map((s) => (
          <option key={s} value={s}>
            {s} or worse
          </option>
        ))}
      </select>
      <select aria-label="Lines" value={limit} onChange={(e) => setQuery({ limit: Number(e.target.value) === defaultLimit ? undefined : e.target.value }, true)}>
        {limits.map((l) => (
          <option key={l} value={l}>
            {l} lines
          </option>
        ))}
      </select>
      <button type="submit" className={`btn${dirty ? ' primary' : ''}`} disabled={!traceOk}>
        Search
      </button>
      {any && (
        <button type="button" className="btn" onClick={() => setQuery({ q: undefined, service: undefined, host: undefined, trace_id: undefined, severity: undefined })}>
          Clear
        </button>
      )}
      <button type="button" className={`btn live-toggle${filters.live ? ' on' : ''}`} aria-pressed={filters.live} onClick={() => onLive(!filters.live)} title="Follow new lines (every 2 s)">
        {filters.live ? '■ Stop live tail' : '▶ Live tail'}
      </button>
      {!traceOk && <span className="hint error">A trace ID is 32 hex digits.</span>}
    </form>
  );
}
