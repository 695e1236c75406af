// Alerts and rules as Prometheus answers them, and how an alert relates to Faultline's
// incidents: by its incident_id label, or by its service label being the root cause or a
// victim of an ongoing incident.
import type { Incident, PromAlert } from '../types';

export type IncidentRole = 'incident' | 'root cause' | 'victim';

export interface AlertsAnswer {
  status: string;
  data: { alerts: PromAlert[] };
}

export interface Rule {
  name: string;
  query: string;
  type: 'alerting' | 'recording' | string;
  health: string;
  lastError?: string;
  state?: string;
  duration?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  alerts?: PromAlert[];
  lastEvaluation?: string;
  evaluationTime?: number;
}

export interface RuleGroup {
  name: string;
  file: string;
  rules: Rule[];
  interval?: number;
  lastEvaluation?: string;
}

export interface RulesAnswer {
  status: string;
  data: { groups: RuleGroup[] };
}

function rootServices(inc: Incident): string[] {
  return [inc.root_cause, ...(inc.root_causes ?? []).map((r) => r.service)].filter((s) => !!s);
}

function isVictim(inc: Incident, service: string): boolean {
  return (inc.affected ?? []).some((a) => a.service === service);
}

/** roleOf is the role a service plays in an incident, or null if it plays none. */
export function roleOf(inc: Incident, service: string): 'root cause' | 'victim' | null {
  if (rootServices(inc).includes(service)) return 'root cause';
  if (isVictim(inc, service)) return 'victim';
  return null;
}

function labelRole(a: PromAlert, inc: Incident | undefined): IncidentRole {
  const r = a.labels.incident_role;
  if (r === 'victim') return 'victim';
  if (r === 'root_cause' || r === 'root cause' || r === 'root') return 'root cause';
  const svc = a.labels.service;
  if (svc && inc) return roleOf(inc, svc) ?? 'incident';
  return 'incident';
}

/**
 * alertsForIncident lists the alerts an incident produced: those labelled with its ID, and
 * those without an incident_id whose service is its root cause or a victim, while it is
 * ongoing or if the alert became active before it ended (still active, so overlapping).
 */
export function alertsForIncident(alerts: PromAlert[], inc: Incident): { alert: PromAlert; role: IncidentRole }[] {
  const out: { alert: PromAlert; role: IncidentRole }[] = [];
  const end = inc.ongoing || inc.end === null ? Infinity : Date.parse(inc.end);
  for (const a of alerts) {
    const id = a.labels.incident_id;
    if (id) {
      if (id === inc.id) out.push({ alert: a, role: labelRole(a, inc) });
      continue;
    }
    const svc = a.labels.service;
    if (!svc) continue;
    const role = roleOf(inc, svc);
    if (role === null) continue;
    const active = a.activeAt ? Date.parse(a.activeAt) : Number.NaN;
    if (end !== Infinity && !(active <= end)) continue;
    out.push({ alert: a, role });
  }
  const rank = { incident: 0, 'root cause': 1, victim: 2 } as const;
  return out.sort((x, y) => rank[x.role] - rank[y.role]);
}

export interface AlertIncident {
  id: string;
  role: IncidentRole;
  incident?: Incident;
}

/**
 * incidentForAlert finds an alert's incident: its incident_id label (the incident itself may
 * be outside the loaded list), else the ongoing incident whose root cause is its service,
 * else the latest ongoing one its service is a victim of (as the server's Tracker.Of does).
 */
export function incidentForAlert(a: PromAlert, incidents: Incident[]): AlertIncident | null {
  const id = a.labels.incident_id;
  if (id) {
    const inc = incidents.find((i) => i.id === id);
    return { id, role: labelRole(a, inc), incident: inc };
  }
  const svc = a.labels.service;
  if (!svc) return null;
  const ongoing = incidents.filter((i) => i.ongoing).sort((x, y) => Date.parse(y.start) - Date.parse(x.start));
  const root = ongoing.find((i) => rootServices(i).includes(svc));
  if (root) return { id: root.id, role: 'root cause', incident: root };
  const victim = ongoing.find((i) => isVictim(i, svc));
  if (victim) return { id: victim.id, role: 'victim', incident: victim };
  return null;
}

/** describeRole is the sentence shown next to an alert ("victim in incident X"). */
export function describeRole(role: IncidentRole, id: string): string {
  switch (role) {
    case 'root cause':
      return `root cause of incident ${id}`;
    case 'victim':
      return `victim in incident ${id}`;
    default:
      return `incident ${id}`;
  }
}

// Filtering and grouping of the alerts page.

export const stateOrder = ['firing', 'pending', 'inactive'] as const;

/**
 * alertMatches says whether an alert matches a filter text: every whitespace-separated term
 * (case-insensitive) must occur in the alert's name, a label value or a "key=value" label.
 */
export function alertMatches(a: PromAlert, text: string): boolean {
  const terms = text.toLowerCase().split(/\s+/).filter((t) => t !== '');
  if (terms.length === 0) return true;
  const hay = [a.labels.alertname ?? '', ...Object.entries(a.labels).map(([k, v]) => `${k}=${v}`)].map((s) => s.toLowerCase());
  return terms.every((t) => hay.some((h) => h.includes(t)));
}

export interface AlertGroup {
  state: string;
  names: { alertname: string; alerts: PromAlert[] }[];
  count: number;
}

/**
 * groupAlerts filters alerts by text and state ('' for any) and groups them by state (firing,
 * pending, then others) then alertname (sorted); within a name, oldest active first.
 */
export function groupAlerts(alerts: PromAlert[], text: string, state: string): AlertGroup[] {
  const byState = new Map<string, Map<string, PromAlert[]>>();
  for (const a of alerts) {
    if (state !== '' && a.state !== state) continue;
    if (!alertMatches(a, text)) continue;
    let names = byState.get(a.state);
    if (!names) byState.set(a.state, (names = new Map()));
    const n = a.labels.alertname ?? '(no name)';
    const list = names.get(n);
    if (list) list.push(a);
    else names.set(n, [a]);
  }
  const rank = (s: string) => {
    const i = (stateOrder as readonly string[]).indexOf(s);
    return i === -1 ? stateOrder.length : i;
  };
  return [...byState.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([s, names]) => {
      const list = [...names.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([alertname, as]) => ({
          alertname,
          alerts: [...as].sort((x, y) => (Date.parse(x.activeAt ?? '') || 0) - (Date.parse(y.activeAt ?? '') || 0)),
        }));
      return { state: s, names: list, count: list.reduce((n, x) => n + x.alerts.length, 0) };
    });
}

/** labelChips lists an alert's labels as chips, alertname left out (it is the heading). */
export function labelChips(a: PromAlert): [string, string][] {
  return Object.entries(a.labels)
    .filter(([k]) => k !== 'alertname')
    .sort(([a], [b]) => a.localeCompare(b));
}

/** alertValue formats an alert's value ("5.06e-01") compactly; the raw text if not a number. */
export function alertValue(v: string): string {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) return v;
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  return a >= 1e6 || a < 1e-3 ? n.toPrecision(3) : String(Number(n.toPrecision(4)));
}

export interface RuleRow {
  group: string;
  file: string;
  name: string;
  type: string;
  health: string;
  lastError: string;
  state: string;
  query: string;
}

/** ruleRows flattens the rule groups into rows (group order kept). */
export function ruleRows(groups: RuleGroup[]): RuleRow[] {
  return groups.flatMap((g) =>
    (g.rules ?? []).map((r) => ({
      group: g.name,
      file: g.file,
      name: r.name,
      type: r.type,
      health: r.health,
      lastError: r.lastError ?? '',
      state: r.type === 'alerting' ? (r.state ?? '') : '',
      query: r.query,
    })),
  );
}
