import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../types';
import { fallbackHosts, fallbackQueries, hostCharts, normalizeHosts, processRows, processSeriesQuery, rateWindow, topProcessesQuery, utilClass } from './model';

const log = (host: string, service: string, time = '2026-11-22T12:00:00Z'): LogRecord => ({ time, host, service, severity: 'INFO', body: '' });

describe('fallbackHosts', () => {
  it('merges agent hosts from PromQL with hosts named by logs', () => {
    const hosts = fallbackHosts({
      hosts: [{ metric: { host_name: 'vm' }, value: 1 }],
      cpu: [
        { metric: { host_name: 'vm' }, value: 0.25 },
        { metric: { host_name: 'ghost' }, value: 0.9 },
      ],
      memory: [{ metric: { host_name: 'vm' }, value: Number.NaN }],
      lastSeen: [{ metric: { host_name: 'vm' }, value: 1795353255 }],
      logs: [log('sim-2', 'cart'), log('sim-1', 'frontend'), log('sim-1', 'ad', '2026-11-22T12:05:00Z'), log('sim-1', 'frontend'), log('', 'x'), log('vm', '')],
    });
    expect(hosts.map((h) => h.host)).toEqual(['sim-1', 'sim-2', 'vm']);
    expect(hosts[0]).toEqual({ host: 'sim-1', services: ['ad', 'frontend'], agent: false, cpu_utilization: null, memory_utilization: null, last_seen: '2026-11-22T12:05:00Z' });
    expect(hosts[2]).toMatchObject({ agent: true, cpu_utilization: 0.25, memory_utilization: null, services: [] });
    expect(hosts[2].last_seen).toBe(new Date(1795353255 * 1000).toISOString());
  });

  it('uses the recorded rules over the range', () => {
    const q = fallbackQueries(3600);
    expect(q.hosts).toBe('group by (host_name) (last_over_time(system_cpu_time_seconds_total[3600s]))');
    expect(q.cpu).toContain('faultline:host_cpu_utilization:ratio[3600s]');
    expect(fallbackQueries(5).memory).toContain('[60s]');
  });
});

describe('normalizeHosts', () => {
  it('fills missing fields and sorts', () => {
    const hs = normalizeHosts({
      hosts: [
        { host: 'b', services: ['y', 'x', 'x'], agent: true, cpu_utilization: 0.1, memory_utilization: null, last_seen: null },
        { host: 'a', services: null as unknown as string[], agent: false, cpu_utilization: null, memory_utilization: null, last_seen: null },
      ],
    });
    expect(hs.map((h) => [h.host, h.services])).toEqual([
      ['a', []],
      ['b', ['x', 'y']],
    ]);
    expect(normalizeHosts(undefined)).toEqual([]);
  });
});

describe('host charts', () => {
  it('quotes the host in every query', () => {
    const charts = hostCharts('we"ird', 30);
    expect(charts.length).toBeGreaterThan(8);
    for (const c of charts) expect(c.expr).toContain('host_name="we\\"ird"');
    expect(charts.find((c) => c.id === 'disk')!.expr).toContain('[60s]');
    expect(charts.find((c) => c.id === 'load')!.label({ __name__: 'system_cpu_load_average_5m' })).toBe('5m');
    expect(charts.find((c) => c.id === 'net')!.label({ device: 'eth0', direction: 'receive' })).toBe('eth0 receive');
  });

  it('widens the rate window with the step', () => {
    expect(rateWindow(15)).toBe('60s');
    expect(rateWindow(300)).toBe('600s');
  });

  it('ranks processes and charts them by PID', () => {
    expect(topProcessesQuery('vm', 5)).toContain('topk(5,');
    const rows = processRows([
      { metric: { process_executable_name: 'a', process_pid: '1' }, value: 0.1 },
      { metric: { process_executable_name: 'b', process_pid: '2', process_owner: 'root' }, value: 0.3 },
      { metric: { process_executable_name: 'c', process_pid: '3' }, value: Number.NaN },
    ]);
    expect(rows.map((r) => r.name)).toEqual(['b', 'a']);
    expect(processSeriesQuery('vm', ['1', '2', 'x|.*'])).toContain('process_pid=~"1|2"');
    expect(processSeriesQuery('vm', [])).toBeNull();
  });

  it('colours utilisation', () => {
    expect(utilClass(0.5)).toBe('util-ok');
    expect(utilClass(0.75)).toBe('util-degraded');
    expect(utilClass(0.95)).toBe('util-failing');
    expect(utilClass(null)).toBe('util-unknown');
  });
});
