// A root cause's evidence grouped by type. Known types get their own view; any other type
// (host saturation included) shows its text and its other fields as a key/value list.
import { Link } from '../components/Link';
import { href, keepShared } from '../lib/url';
import { formatTime } from '../lib/time';
import type { Evidence } from '../types';
import { evidenceFields, formatMeasure, groupEvidence, isHostEvidence, parseTime, signalName, traceIds } from './model';

function TraceLinks({ ids, max = 5 }: { ids: string[]; max?: number }) {
  if (ids.length === 0) return null;
  return (
    <span className="trace-links">
      {ids.slice(0, max).map((id) => (
        <Link key={id} className="mono" href={href(`/traces/${encodeURIComponent(id)}`, keepShared(window.location.search))} title={`Trace ${id}`}>
          {id.slice(0, 8)}…
        </Link>
      ))}
      {ids.length > max && <span className="hint">+{ids.length - max} more</span>}
    </span>
  );
}

function Since({ e, now }: { e: Evidence; now: number }) {
  const t = typeof e.since === 'string' ? parseTime(e.since) : Number.NaN;
  if (!Number.isFinite(t)) return null;
  return <span className="hint"> since {formatTime(t, now)}</span>;
}

function Generic({ e }: { e: Evidence }) {
  const fields = evidenceFields(e);
  return (
    <>
      {typeof e.text === 'string' && e.text !== '' && <div>{e.text}</div>}
      {fields.length > 0 && (
        <dl className="kv">
          {fields.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
    </>
  );
}

function Item({ e, now, logsHref, service }: { e: Evidence; now: number; logsHref: (service: string) => string; service: string }) {
  const count = typeof e.count === 'number' ? e.count : null;
  switch (e.type) {
    case 'anomaly':
    case 'amplification':
      return (
        <>
          <span className="mono">{String(e.entity ?? '')}</span> {signalName(e.signal)}:{' '}
          <span className="measure">
            {formatMeasure(e.baseline, e.unit)} → <strong>{formatMeasure(e.current, e.unit)}</strong>
          </span>
          <Since e={e} now={now} />
        </>
      );
    case 'error_origin':
    case 'latency_origin':
      return (
        <>
          <div>
            {String(e.text ?? '')}
            <Since e={e} now={now} />
          </div>
          <TraceLinks ids={traceIds(e)} />
        </>
      );
    case 'error_message':
      return (
        <>
          {count !== null && <span className="count">{count}×</span>} <code className="message">{String(e.message ?? e.text ?? '')}</code>
          <Since e={e} now={now} />
        </>
      );
    case 'error_log':
      return (
        <>
          <div>
            {count !== null && <span className="count">{count}×</span>} <code className="message">{String(e.message ?? e.text ?? '')}</code>
            <Since e={e} now={now} />
          </div>
          <div className="evidence-links">
            <Link href={logsHref(typeof e.entity === 'string' && e.entity !== '' ? e.entity : service)}>error logs around the incident</Link>
            <TraceLinks ids={traceIds(e)} />
          </div>
        </>
      );
    default:
      return <Generic e={e} />;
  }
}

export function EvidenceView({ evidence, now, logsHref, service }: { evidence: Evidence[]; now: number; logsHref: (service: string) => string; service: string }) {
  const groups = groupEvidence(evidence);
  if (groups.length === 0) return <p className="hint">No evidence recorded.</p>;
  return (
    <div className="evidence">
      {groups.map((g) => (
        <section key={g.type} className={`evidence-group${isHostEvidence(g.type) ? ' host-evidence' : ''}`}>
          <h4>
            {isHostEvidence(g.type) && !/host/i.test(g.title) ? `Host saturation: ${g.title.toLowerCase()}` : g.title} <span className="hint">({g.items.length})</span>
          </h4>
          <ul>
            {g.items.map((e, i) => (
              <li key={i}>
                <Item e={e} now={now} logsHref={logsHref} service={service} />
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
