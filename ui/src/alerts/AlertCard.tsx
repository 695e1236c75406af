// One alert: state, name, labels as chips, summary and description, since when, its value and
// (when known) its incident. Used by the alerts page and by an incident's "alerts" section.
import { Link } from '../components/Link';
import { href, keepShared } from '../lib/url';
import { formatDuration, formatTime } from '../lib/time';
import type { PromAlert } from '../types';
import { alertValue, describeRole, labelChips, type AlertIncident } from './model';
import './alerts.css';

/** With linkIncident false (on the incident's own page) the role is plain text. */
export function AlertCard({
  alert,
  incident,
  now,
  showName = true,
  linkIncident = true,
}: {
  alert: PromAlert;
  incident?: AlertIncident | null;
  now: number;
  showName?: boolean;
  linkIncident?: boolean;
}) {
  const active = alert.activeAt ? Date.parse(alert.activeAt) : Number.NaN;
  const summary = alert.annotations.summary;
  const description = alert.annotations.description;
  return (
    <article className="alert-card" data-alert={alert.labels.alertname ?? ''}>
      <div className="alert-head">
        <span className={`badge alert-state state-${alert.state}`}>{alert.state}</span>
        {showName && <strong className="alert-name">{alert.labels.alertname ?? '(no name)'}</strong>}
        {alert.labels.severity && <span className="badge alert-sev">{alert.labels.severity}</span>}
        {Number.isFinite(active) && (
          <span className="hint" title={alert.activeAt}>
            active since {formatTime(active, now)} ({formatDuration(Math.max(0, now - active))})
          </span>
        )}
        <span className="hint">value {alertValue(alert.value)}</span>
        {incident && !linkIncident && <span className={`alert-incident role-${incident.role.replace(' ', '-')}`}>{incident.role === 'incident' ? 'the incident itself' : incident.role}</span>}
        {incident && linkIncident && (
          <Link className={`alert-incident role-${incident.role.replace(' ', '-')}`} href={href('/incidents', keepShared(window.location.search, { id: incident.id }))}>
            {describeRole(incident.role, incident.id)}
          </Link>
        )}
      </div>
      {summary && <p className="alert-summary">{summary}</p>}
      {description && description !== summary && <p className="alert-description hint">{description}</p>}
      <ul className="chips" aria-label="Labels">
        {labelChips(alert).map(([k, v]) => (
          <li key={k} className="chip">
            <span className="chip-key">{k}</span>={v}
          </li>
        ))}
      </ul>
    </article>
  );
}
