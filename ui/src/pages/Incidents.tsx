// Incidents (/incidents, /incidents?id=<id>): a timeline of the incidents in the range, their
// list, and the selected one's analysis: root causes with evidence, victims, propagation
// paths, exemplar traces and the alerts it produced.
import { Fragment } from 'react';
import { AlertCard } from '../alerts/AlertCard';
import { alertsForIncident, type AlertsAnswer } from '../alerts/model';
import { Link } from '../components/Link';
import { Empty, ErrorBox, Loading } from '../components/State';
import { EvidenceView } from '../incidents/EvidenceView';
import { Timeline } from '../incidents/Timeline';
import {
  aroundIncident,
  blastRadius,
  incidentDuration,
  incidentIdTime,
  kindClass,
  parseTime,
  rootCauseServices,
} from '../incidents/model';
import { getJSON } from '../lib/api';
import { setQuery, useAsync, useRefresh, useRoute, useTimeRange } from '../lib/hooks';
import { formatDuration, formatTime, toApi } from '../lib/time';
import { href, keepShared } from '../lib/url';
import type { Incident } from '../types';
import '../alerts/alerts.css';
import '../incidents/incidents.css';

function serviceHref(service: string): string {
  return href('/', keepShared(window.location.search, { service }));
}

function incidentHref(id: string): string {
  return href('/incidents', keepShared(window.location.search, { id }));
}

function KindBadge({ kind }: { kind: string }) {
  return <span className={`badge kind-badge ${kindClass(kind)}`}>{kind}</span>;
}

function Status({ inc }: { inc: Incident }) {
  return inc.ongoing ? <span className="badge status-ongoing">ongoing</span> : <span className="badge status-ended">ended</span>;
}

export function IncidentsPage() {
  const route = useRoute();
  const { tick, now } = useRefresh();
  const { resolved } = useTimeRange();
  const selectedId = route.query.get('id') ?? '';
  const list = useAsync(
    (signal) => getJSON<{ incidents: Incident[] }>('/api/v1/incidents', { start: toApi(resolved.start), end: toApi(resolved.end), limit: 1000 }, signal),
    [resolved.start, resolved.end, tick],
  );
  const alerts = useAsync((signal) => getJSON<AlertsAnswer>('/prometheus/api/v1/alerts', {}, signal), [tick]);

  const incidents = [...(list.data?.incidents ?? [])].sort((a, b) => parseTime(b.start) - parseTime(a.start));
  const selected = selectedId !== '' ? incidents.find((i) => i.id === selectedId) : (incidents.find((i) => i.ongoing) ?? incidents[0]);
  const select = (id: string) => setQuery({ id });

  return (
    <div className="incidents-page">
      <h1>
        Incidents {list.data && <span className="hint">{incidents.length} in this range</span>}
      </h1>
      {list.error && <ErrorBox error={list.error} what="incidents" />}
      {!list.data && list.loading && <Loading what="Loading incidents" />}
      {list.data && incidents.length === 0 && <Empty>No incidents in this time range</Empty>}
      {list.data && incidents.length > 0 && (
        <Timeline incidents={incidents} range={resolved} now={now} selected={selected?.id ?? ''} onSelect={select} />
      )}
      {list.data && selectedId !== '' && !selected && <MissingIncident id={selectedId} />}
      {list.data && incidents.length > 0 && (
        <div className="incidents-layout">
          <IncidentTable incidents={incidents} selected={selected?.id ?? ''} now={now} />
          {selected && <IncidentDetail inc={selected} now={now} alerts={alerts} />}
        </div>
      )}
    </div>
  );
}

function MissingIncident({ id }: { id: string }) {
  const t = incidentIdTime(id);
  return (
    <div className="state state-empty">
      Incident <span className="mono">{id}</span> is not in this time range.{' '}
      {t !== null && <Link href={href('/incidents', { ...keepShared(window.location.search), id, from: toApi(t - 30 * 60_000), to: undefined })}>Show the time since it started.</Link>}
    </div>
  );
}

function IncidentTable({ incidents, selected, now }: { incidents: Incident[]; selected: string; now: number }) {
  return (
    <div className="incident-list panel">
      <table className="data">
        <thead>
          <tr>
            <th>Root cause</th>
            <th>Kind</th>
            <th className="num" title="Services affected">
              Blast radius
            </th>
            <th>Started</th>
            <th className="num">Duration</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {incidents.map((inc) => (
            <tr key={inc.id} className={inc.id === selected ? 'selected' : undefined} aria-selected={inc.id === selected}>
              <td>
                <Link href={incidentHref(inc.id)} aria-current={inc.id === selected ? 'true' : undefined}>
                  {inc.root_cause || '(unknown)'}
                </Link>
              </td>
              <td>
                <KindBadge kind={inc.kind} />
              </td>
              <td className="num">{blastRadius(inc)}</td>
              <td>{formatTime(parseTime(inc.start), now)}</td>
              <td className="num">{formatDuration(incidentDuration(inc, now))}</td>
              <td>
                <Status inc={inc} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Bar({ value, className = '' }: { value: number; className?: string }) {
  const v = Math.max(0, Math.min(1, Number.isFinite(value) ? value : 0));
  return (
    <span className={`meter ${className}`} aria-hidden="true">
      <span style={{ width: `${v * 100}%` }} />
    </span>
  );
}

function IncidentDetail({ inc, now, alerts }: { inc: Incident; now: number; alerts: { data?: AlertsAnswer; error?: Error; loading: boolean } }) {
  const win = aroundIncident(inc);
  const logsHref = (service: string) => href('/logs', { ...keepShared(window.location.search), service, severity: 'error', from: win.from, to: win.to ?? 'now' });
  const roots = [...(inc.root_causes ?? [])].sort((a, b) => b.score - a.score);
  const rootSet = new Set(rootCauseServices(inc));
  const affected = [...(inc.affected ?? [])].sort((a, b) => b.impact - a.impact);
  const produced = alerts.data ? alertsForIncident(alerts.data.data?.alerts ?? [], inc) : [];
  const start = parseTime(inc.start);
  return (
    <article className="incident-detail panel" aria-labelledby="incident-title">
      <header className="incident-head">
        <h2 id="incident-title">
          <Link href={serviceHref(inc.root_cause)} className="root-name">
            {inc.root_cause}
          </Link>{' '}
          <KindBadge kind={inc.kind} /> <Status inc={inc} />
        </h2>
        <div className="hint">
          {formatTime(start, now)} – {inc.ongoing || inc.end === null ? 'now' : formatTime(parseTime(inc.end), now)} ({formatDuration(incidentDuration(inc, now))}) · last seen{' '}
          {formatTime(parseTime(inc.last_seen), now)} · <span className="mono">{inc.id}</span>
        </div>
        {inc.summary && <p className="incident-summary">{inc.summary}</p>}
      </header>

      {(inc.paths ?? []).length > 0 && (
        <section>
          <h3>Propagation</h3>
          {inc.paths.map((p, i) => (
            <ol key={i} className="path" aria-label={`Path ${i + 1}`}>
              {p.map((s, j) => (
                <Fragment key={j}>
                  {j > 0 && (
                    <li className="path-arrow" aria-hidden="true">
                      →
                    </li>
                  )}
                  <li>
                    <Link className={`path-chip${rootSet.has(s) ? ' is-root' : ''}`} href={serviceHref(s)}>
                      {s}
                    </Link>
                  </li>
                </Fragment>
              ))}
            </ol>
          ))}
        </section>
      )}

      <section>
        <h3>Root causes</h3>
        {roots.length === 0 && <p className="hint">No root cause recorded.</p>}
        <ol className="root-causes">
          {roots.map((r) => (
            <li key={r.service} className="root-cause">
              <div className="root-cause-head">
                <Link href={serviceHref(r.service)} className="root-name">
                  {r.service}
                </Link>
                <KindBadge kind={r.kind} />
                {r.node_kind && r.node_kind !== 'service' && <span className="badge">{r.node_kind}</span>}
                <span className="score" title="Share of the trouble">
                  <Bar value={r.score} className="meter-root" /> {(r.score * 100).toFixed(0)}%
                </span>
                {r.since && <span className="hint">since {formatTime(parseTime(r.since), now)}</span>}
              </div>
              <EvidenceView evidence={r.evidence ?? []} now={now} logsHref={logsHref} service={r.service} />
            </li>
          ))}
        </ol>
      </section>

      <section>
        <h3>Affected services ({affected.length})</h3>
        {affected.length === 0 ? (
          <p className="hint">No other service was affected.</p>
        ) : (
          <table className="data affected">
            <thead>
              <tr>
                <th>Service</th>
                <th>Impact</th>
                <th>Signals</th>
                <th>Since</th>
              </tr>
            </thead>
            <tbody>
              {affected.map((a) => (
                <tr key={a.service}>
                  <td>
                    <Link href={serviceHref(a.service)}>{a.service}</Link>
                  </td>
                  <td className="impact">
                    <Bar value={a.impact} className="meter-path" /> {(a.impact * 100).toFixed(1)}%
                  </td>
                  <td>{(a.signals ?? []).join(', ') || '–'}</td>
                  <td>{a.since ? formatTime(parseTime(a.since), now) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {(inc.exemplar_traces ?? []).length > 0 && (
        <section>
          <h3>Exemplar traces</h3>
          <ul className="exemplars">
            {inc.exemplar_traces.map((id) => (
              <li key={id}>
                <Link className="mono" href={href(`/traces/${encodeURIComponent(id)}`, keepShared(window.location.search))}>
                  {id}
                </Link>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section>
        <h3>Alerts it produced{alerts.data ? ` (${produced.length})` : ''}</h3>
        {alerts.error && <ErrorBox error={alerts.error} what="alerts" />}
        {!alerts.data && alerts.loading && <Loading what="Loading alerts" />}
        {alerts.data && produced.length === 0 && <p className="hint">No active alert belongs to this incident.</p>}
        <div className="alert-list">
          {produced.map(({ alert, role }, i) => (
            <AlertCard key={i} alert={alert} incident={{ id: inc.id, role }} now={now} linkIncident={false} />
          ))}
        </div>
      </section>
    </article>
  );
}
