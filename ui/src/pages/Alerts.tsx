// Alerts (/alerts): the firing and pending alerts of Faultline's rule evaluator, grouped by
// state then name, each with its incident; and the rules, collapsed.
import { useMemo } from 'react';
import { AlertCard } from '../alerts/AlertCard';
import { groupAlerts, incidentForAlert, ruleRows, type AlertsAnswer, type RulesAnswer } from '../alerts/model';
import { Empty, ErrorBox, Loading } from '../components/State';
import { getJSON } from '../lib/api';
import { setQuery, useAsync, useRefresh, useRoute } from '../lib/hooks';
import { formatTime } from '../lib/time';
import type { Incident } from '../types';
import '../alerts/alerts.css';

const states = [
  { value: '', label: 'Firing and pending' },
  { value: 'firing', label: 'Firing' },
  { value: 'pending', label: 'Pending' },
];

export function AlertsPage() {
  const route = useRoute();
  const { tick, now } = useRefresh();
  const text = route.query.get('q') ?? '';
  const state = route.query.get('state') ?? '';
  const alerts = useAsync((signal) => getJSON<AlertsAnswer>('/prometheus/api/v1/alerts', {}, signal), [tick]);
  const rules = useAsync((signal) => getJSON<RulesAnswer>('/prometheus/api/v1/rules', {}, signal), [tick]);
  // The server's default window (the last day) holds every ongoing incident.
  const incidents = useAsync((signal) => getJSON<{ incidents: Incident[] }>('/api/v1/incidents', { limit: 1000 }, signal), [tick]);

  const all = alerts.data?.data?.alerts ?? [];
  const groups = useMemo(() => groupAlerts(all, text, state), [all, text, state]);
  const incs = incidents.data?.incidents ?? [];

  return (
    <div className="alerts-page">
      <h1>Alerts</h1>
      <div className="toolbar" role="search">
        <input
          type="search"
          data-search
          placeholder="Filter by name or label (/)"
          aria-label="Filter alerts by name or label"
          value={text}
          onChange={(e) => setQuery({ q: e.target.value }, true)}
          size={36}
        />
        <select aria-label="State" value={state} onChange={(e) => setQuery({ state: e.target.value }, true)}>
          {states.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
        {alerts.data && (
          <span className="hint">
            {all.filter((a) => a.state === 'firing').length} firing, {all.filter((a) => a.state === 'pending').length} pending
          </span>
        )}
      </div>
      {incidents.error && <p className="hint error">Incidents could not be loaded ({incidents.error.message}); alerts are shown without them.</p>}
      {alerts.error && <ErrorBox error={alerts.error} what="alerts" />}
      {!alerts.data && alerts.loading && <Loading what="Loading alerts" />}
      {alerts.data && groups.length === 0 && (
        <Empty>{all.length === 0 ? 'No alert is firing or pending.' : 'No alert matches these filters.'}</Empty>
      )}
      {groups.map((g) => (
        <section key={g.state} className="alert-section" aria-label={`${g.state} alerts`}>
          <h2>
            <span className={`badge alert-state state-${g.state}`}>{g.state}</span>
            <span>{g.count}</span>
          </h2>
          {g.names.map((n) => (
            <div key={n.alertname} className="alert-name-group">
              <h3>
                {n.alertname} <span className="hint">×{n.alerts.length}</span>
              </h3>
              <div className="alert-list">
                {n.alerts.map((a, i) => (
                  <AlertCard key={i} alert={a} incident={incidentForAlert(a, incs)} now={now} showName={false} />
                ))}
              </div>
            </div>
          ))}
        </section>
      ))}
      <details className="rules-section">
        <summary>Rules{rules.data ? ` (${ruleRows(rules.data.data?.groups ?? []).length})` : ''}</summary>
        {rules.error && <ErrorBox error={rules.error} what="rules" />}
        {!rules.data && rules.loading && <Loading what="Loading rules" />}
        {rules.data && <RulesTable answer={rules.data} now={now} />}
      </details>
    </div>
  );
}

function RulesTable({ answer, now }: { answer: RulesAnswer; now: number }) {
  const rows = ruleRows(answer.data?.groups ?? []);
  if (rows.length === 0) return <Empty>No rules are loaded.</Empty>;
  const groups = answer.data.groups;
  return (
    <table className="data">
      <thead>
        <tr>
          <th>Group</th>
          <th>Rule</th>
          <th>Type</th>
          <th>Health</th>
          <th>State</th>
          <th>Last error</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => {
          const g = groups.find((x) => x.name === r.group && x.file === r.file);
          const last = g?.lastEvaluation ? Date.parse(g.lastEvaluation) : Number.NaN;
          return (
            <tr key={i}>
              <td>
                {r.group}
                <div className="hint" title={r.file}>
                  {Number.isFinite(last) && last > 0 ? `evaluated ${formatTime(last, now)}` : ''}
                </div>
              </td>
              <td>
                <span className="mono">{r.name}</span>
                <div className="query mono">{r.query}</div>
              </td>
              <td>{r.type}</td>
              <td className={r.health === 'ok' ? 'health-ok' : r.health === 'err' ? 'health-err' : 'health-unknown'}>{r.health || '–'}</td>
              <td>{r.state ? <span className={`badge alert-state state-${r.state}`}>{r.state}</span> : '–'}</td>
              <td className={r.lastError ? 'error-text' : ''}>{r.lastError || '–'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
