import { describe, expect, it } from 'vitest';
import type { Incident, PromAlert } from '../types';
import { alertMatches, alertsForIncident, alertValue, describeRole, groupAlerts, incidentForAlert, labelChips, ruleRows } from './model';

function alert(labels: Record<string, string>, state: PromAlert['state'] = 'firing', activeAt = '2026-11-22T12:30:00Z'): PromAlert {
  return { labels, annotations: {}, state, activeAt, value: '1' };
}

function incident(id: string, root: string, affected: string[], ongoing: boolean, start = '2026-11-22T12:29:00Z', end: string | null = null): Incident {
  return {
    id,
    start,
    end: ongoing ? null : end,
    ongoing,
    last_seen: start,
    root_cause: root,
    kind: 'error',
    summary: '',
    root_causes: [{ service: root, score: 1, kind: 'error', evidence: [] }],
    affected: affected.map((s) => ({ service: s, impact: 0.5 })),
    paths: [],
    exemplar_traces: [],
  };
}

const inc = incident('A', 'payment', ['checkout', 'frontend'], true);

describe('alertsForIncident', () => {
  const alerts = [
    alert({ alertname: 'FaultlineIncident', incident_id: 'A', root_cause: 'payment' }),
    alert({ alertname: 'FaultlineIncident', incident_id: 'B', root_cause: 'cart' }),
    alert({ alertname: 'ErrorRate', service: 'checkout' }),
    alert({ alertname: 'ErrorRate', service: 'payment' }),
    alert({ alertname: 'ErrorRate', service: 'cart' }),
    alert({ alertname: 'HostCPU', host_name: 'vm' }),
    alert({ alertname: 'ErrorRate', service: 'frontend', incident_id: 'A', incident_role: 'victim' }),
  ];

  it('takes labelled alerts and those of its root cause and victims, incident first', () => {
    const got = alertsForIncident(alerts, inc).map((x) => [x.alert.labels.alertname, x.alert.labels.service ?? '', x.role]);
    expect(got).toEqual([
      ['FaultlineIncident', '', 'incident'],
      ['ErrorRate', 'payment', 'root cause'],
      ['ErrorRate', 'checkout', 'victim'],
      ['ErrorRate', 'frontend', 'victim'],
    ]);
  });

  it('does not take service alerts that started after an ended incident', () => {
    const ended = incident('A', 'payment', ['checkout'], false, '2026-11-22T12:00:00Z', '2026-11-22T12:10:00Z');
    const got = alertsForIncident(
      [alert({ alertname: 'E', service: 'payment' }, 'firing', '2026-11-22T12:30:00Z'), alert({ alertname: 'F', service: 'checkout' }, 'firing', '2026-11-22T12:05:00Z')],
      ended,
    );
    expect(got.map((x) => x.alert.labels.alertname)).toEqual(['F']);
  });
});

describe('incidentForAlert', () => {
  const older = incident('OLD', 'db', ['payment', 'checkout'], true, '2026-11-22T11:00:00Z');
  const ended = incident('END', 'checkout', [], false, '2026-11-22T10:00:00Z', '2026-11-22T10:10:00Z');
  const all = [inc, older, ended];

  it('uses the incident_id label, even for an incident not loaded', () => {
    expect(incidentForAlert(alert({ alertname: 'X', incident_id: 'ZZZ' }), all)).toEqual({ id: 'ZZZ', role: 'incident', incident: undefined });
    const r = incidentForAlert(alert({ alertname: 'X', incident_id: 'A', service: 'payment' }), all)!;
    expect([r.id, r.role]).toEqual(['A', 'root cause']);
  });

  it('prefers the incident the service is the root cause of', () => {
    const r = incidentForAlert(alert({ alertname: 'E', service: 'payment' }), all)!;
    expect([r.id, r.role]).toEqual(['A', 'root cause']);
  });

  it('else takes the latest ongoing incident it is a victim of, ignoring ended ones', () => {
    const r = incidentForAlert(alert({ alertname: 'E', service: 'checkout' }), all)!;
    expect([r.id, r.role]).toEqual(['A', 'victim']);
    expect(incidentForAlert(alert({ alertname: 'E', service: 'cart' }), all)).toBeNull();
    expect(incidentForAlert(alert({ alertname: 'E' }), all)).toBeNull();
  });

  it('describes roles', () => {
    expect(describeRole('root cause', 'X')).toBe('root cause of incident X');
    expect(describeRole('victim', 'X')).toBe('victim in incident X');
  });
});

describe('filtering and grouping', () => {
  const alerts = [
    alert({ alertname: 'B', service: 'payment' }, 'pending', '2026-11-22T12:31:00Z'),
    alert({ alertname: 'A', service: 'checkout' }, 'firing'),
    alert({ alertname: 'B', service: 'cart' }, 'pending', '2026-11-22T12:30:00Z'),
    alert({ alertname: 'C', severity: 'page' }, 'firing'),
  ];

  it('matches every term against name and labels', () => {
    expect(alertMatches(alerts[0], 'b PAYMENT')).toBe(true);
    expect(alertMatches(alerts[0], 'service=pay')).toBe(true);
    expect(alertMatches(alerts[0], 'b cart')).toBe(false);
    expect(alertMatches(alerts[0], '  ')).toBe(true);
  });

  it('groups by state then name, oldest first', () => {
    const g = groupAlerts(alerts, '', '');
    expect(g.map((x) => [x.state, x.count])).toEqual([
      ['firing', 2],
      ['pending', 2],
    ]);
    expect(g[0].names.map((n) => n.alertname)).toEqual(['A', 'C']);
    expect(g[1].names[0].alerts.map((a) => a.labels.service)).toEqual(['cart', 'payment']);
  });

  it('filters by state and text', () => {
    expect(groupAlerts(alerts, '', 'pending').map((x) => x.state)).toEqual(['pending']);
    expect(groupAlerts(alerts, 'page', '').flatMap((x) => x.names.map((n) => n.alertname))).toEqual(['C']);
  });

  it('formats chips and values', () => {
    expect(labelChips(alert({ alertname: 'A', z: '1', b: '2' }))).toEqual([
      ['b', '2'],
      ['z', '1'],
    ]);
    expect(alertValue('5.063282245649844e-01')).toBe('0.5063');
    expect(alertValue('1e+00')).toBe('1');
    expect(alertValue('NaN')).toBe('NaN');
  });

  it('flattens rules', () => {
    const rows = ruleRows([
      { name: 'g', file: 'f', rules: [{ name: 'r', query: 'up', type: 'recording', health: 'ok' }, { name: 'a', query: 'x > 1', type: 'alerting', health: 'err', lastError: 'boom', state: 'firing' }] },
    ]);
    expect(rows.map((r) => [r.group, r.name, r.state, r.lastError])).toEqual([
      ['g', 'r', '', ''],
      ['g', 'a', 'firing', 'boom'],
    ]);
  });
});
