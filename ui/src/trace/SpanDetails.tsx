// The selected span's details, all rendered as text: identity, timing (offset, duration,
// self time, critical-path share), status, attributes, resource, events, links.
import { Link } from '../components/Link';
import { formatDuration, formatTime } from '../lib/time';
import { href, keepShared } from '../lib/url';
import { attrEntries } from './colors';
import { pathTime, type CriticalPath } from './criticalPath';
import { nanosToMs, type TraceModel } from './tree';

function AttrTable({ entries, caption }: { entries: [string, string][]; caption: string }) {
  if (entries.length === 0) return <p className="hint">None.</p>;
  return (
    <table className="data" aria-label={caption}>
      <tbody>
        {entries.map(([k, v], i) => (
          <tr key={`${i}-${k}`}>
            <td className="mono">{k}</td>
            <td className="mono">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SpanDetails({
  model,
  cp,
  traceId,
  node: u,
  onSelect,
  onClose,
  color,
}: {
  color: string;
  model: TraceModel;
  cp: CriticalPath;
  traceId: string;
  node: number;
  onSelect: (node: number) => void;
  onClose: () => void;
}) {
  const node = model.nodes[u];
  const s = node.span;
  const parent = node.parent >= 0 ? model.nodes[node.parent] : undefined;
  const onPathMs = pathTime(cp.segments[u]);
  const status = s.status?.code ?? 'unset';
  const spanStartAbs = model.traceStart + node.start;
  const shared = keepShared(window.location.search);
  return (
    <aside
      className="span-details"
      data-testid="span-details"
      aria-label="Span details"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <header>
        <h2>
          <span style={{ borderBottom: `3px solid ${color}` }}>{s.service}</span>: {s.name}
        </h2>
        <button type="button" className="btn" onClick={onClose} aria-label="Close span details" title="Close (Esc)">
          ✕
        </button>
      </header>
      <dl className="kv">
        <dt>Service</dt>
        <dd>{s.service}</dd>
        <dt>Operation</dt>
        <dd>{s.name}</dd>
        <dt>Kind</dt>
        <dd>{s.kind || 'unspecified'}</dd>
        <dt>Status</dt>
        <dd className={status === 'error' ? 'status-error' : undefined}>
          {status}
          {s.status?.message ? `: ${s.status.message}` : ''}
        </dd>
        <dt>Start</dt>
        <dd>
          +{formatDuration(node.start)} <span className="hint">({formatTime(spanStartAbs)})</span>
        </dd>
        <dt>Duration</dt>
        <dd>{formatDuration(node.duration)}</dd>
        <dt>Self time</dt>
        <dd>{formatDuration(node.selfTime)}</dd>
        <dt>Critical path</dt>
        <dd>{cp.onPath[u] ? `on the path (${formatDuration(onPathMs)} of its own time)` : 'not on the path'}</dd>
        <dt>Span ID</dt>
        <dd className="mono">
          {node.id}
          {node.duplicate ? ' (duplicate ID)' : ''}
        </dd>
        <dt>Parent</dt>
        <dd className="mono">
          {parent ? (
            <button type="button" className="linkbtn mono" onClick={() => onSelect(parent.index)} title={`${parent.span.service}: ${parent.span.name}`}>
              {parent.id}
            </button>
          ) : s.parent_span_id ? (
            `${s.parent_span_id} (not in the trace)`
          ) : (
            'none (root)'
          )}
        </dd>
        {node.outsideParent && (
          <>
            <dt>Note</dt>
            <dd>Runs outside its parent's time (clock skew or asynchronous work).</dd>
          </>
        )}
        {s.scope?.name && (
          <>
            <dt>Scope</dt>
            <dd className="mono">
              {s.scope.name}
              {s.scope.version ? ` ${s.scope.version}` : ''}
            </dd>
          </>
        )}
      </dl>

      <h3>Attributes</h3>
      <AttrTable entries={attrEntries(s.attributes)} caption="Span attributes" />

      <h3>Events ({s.events?.length ?? 0})</h3>
      {(s.events ?? []).length === 0 ? (
        <p className="hint">None.</p>
      ) : (
        (s.events ?? []).map((ev, i) => {
          const t = nanosToMs(ev.time_unix_nano);
          const off = Number.isFinite(t) ? t - spanStartAbs : NaN;
          return (
            <div className="event" key={i}>
              <div>
                <strong>{ev.name}</strong>{' '}
                <span className="hint">{Number.isFinite(off) ? `${off < 0 ? '-' : '+'}${formatDuration(Math.abs(off))} into the span` : ''}</span>
              </div>
              {attrEntries(ev.attributes).length > 0 && <AttrTable entries={attrEntries(ev.attributes)} caption={`Attributes of event ${ev.name}`} />}
            </div>
          );
        })
      )}

      <h3>Links ({s.links?.length ?? 0})</h3>
      {(s.links ?? []).length === 0 ? (
        <p className="hint">None.</p>
      ) : (
        <ul>
          {(s.links ?? []).map((l, i) => {
            const local = l.trace_id === traceId ? model.byId.get(l.span_id) : undefined;
            return (
              <li key={i} className="mono">
                {local !== undefined ? (
                  <button type="button" className="linkbtn mono" onClick={() => onSelect(local)}>
                    span {l.span_id} in this trace
                  </button>
                ) : (
                  <Link href={href(`/traces/${encodeURIComponent(l.trace_id)}`, { ...shared, span: l.span_id })}>
                    {l.trace_id} / {l.span_id}
                  </Link>
                )}
                {attrEntries(l.attributes).length > 0 && <AttrTable entries={attrEntries(l.attributes)} caption="Link attributes" />}
              </li>
            );
          })}
        </ul>
      )}

      <h3>Resource</h3>
      <AttrTable entries={attrEntries(s.resource)} caption="Resource attributes" />
    </aside>
  );
}
