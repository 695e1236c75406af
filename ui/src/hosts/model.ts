// Hosts: the list from GET /api/v1/hosts, or (while that API is missing: 404) the same
// built from PromQL over the agents' host metrics and from the hosts named by recent logs;
// and the PromQL behind the host page's charts.
import type { LogRecord } from '../types';
import type { PromSample } from '../lib/prom';
import { quote } from '../lib/prom';
import type { Unit } from '../lib/format';

export interface HostInfo {
  host: string;
  services: string[];
  /** Whether an agent reports the host's metrics. */
  agent: boolean;
  cpu_utilization: number | null;
  memory_utilization: number | null;
  last_seen: string | null;
}

export interface HostsAnswer {
  hosts: HostInfo[];
}

/** normalizeHosts makes an API answer safe to render: missing lists empty, sorted by name. */
export function normalizeHosts(a: HostsAnswer | null | undefined): HostInfo[] {
  return (a?.hosts ?? [])
    .filter((h) => typeof h.host === 'string' && h.host !== '')
    .map((h) => ({
      host: h.host,
      services: [...new Set(h.services ?? [])].sort(),
      agent: !!h.agent,
      cpu_utilization: typeof h.cpu_utilization === 'number' ? h.cpu_utilization : null,
      memory_utilization: typeof h.memory_utilization === 'number' ? h.memory_utilization : null,
      last_seen: h.last_seen ?? null,
    }))
    .sort((a, b) => a.host.localeCompare(b.host));
}

/** The fallback's PromQL (instant queries at the range's end). rangeSec bounds the lookback. */
export function fallbackQueries(rangeSec: number) {
  const r = `${Math.max(60, Math.round(rangeSec))}s`;
  return {
    hosts: `group by (host_name) (last_over_time(system_cpu_time_seconds_total[${r}]))`,
    cpu: `max by (host_name) (last_over_time(faultline:host_cpu_utilization:ratio[${r}]))`,
    memory: `max by (host_name) (last_over_time(faultline:host_memory_utilization:ratio[${r}]))`,
    lastSeen: `max by (host_name) (timestamp(system_cpu_time_seconds_total))`,
  };
}

export interface FallbackInput {
  hosts: PromSample[];
  cpu: PromSample[];
  memory: PromSample[];
  lastSeen: PromSample[];
  /** Recent log records: their host and service say which services run where. */
  logs: LogRecord[];
}

/**
 * fallbackHosts builds the hosts API's answer from PromQL results and recent logs: agent
 * hosts (with CPU and memory utilisation) and hosts that only logs name (agent false).
 */
export function fallbackHosts(x: FallbackInput): HostInfo[] {
  const by = new Map<string, HostInfo>();
  const get = (host: string) => {
    let h = by.get(host);
    if (!h) by.set(host, (h = { host, services: [], agent: false, cpu_utilization: null, memory_utilization: null, last_seen: null }));
    return h;
  };
  for (const s of x.hosts) {
    const n = s.metric.host_name;
    if (n) get(n).agent = true;
  }
  const num = (v: number) => (Number.isFinite(v) ? v : null);
  for (const s of x.cpu) if (s.metric.host_name && by.has(s.metric.host_name)) get(s.metric.host_name).cpu_utilization = num(s.value);
  for (const s of x.memory) if (s.metric.host_name && by.has(s.metric.host_name)) get(s.metric.host_name).memory_utilization = num(s.value);
  for (const s of x.lastSeen) {
    if (s.metric.host_name && by.has(s.metric.host_name) && Number.isFinite(s.value)) get(s.metric.host_name).last_seen = new Date(s.value * 1000).toISOString();
  }
  for (const l of x.logs) {
    if (!l.host) continue;
    const h = get(l.host);
    if (l.service && !h.services.includes(l.service)) h.services.push(l.service);
    if (!h.agent && (h.last_seen === null || Date.parse(l.time) > Date.parse(h.last_seen))) h.last_seen = l.time;
  }
  for (const h of by.values()) h.services.sort();
  return [...by.values()].sort((a, b) => a.host.localeCompare(b.host));
}

/** rateWindow is the rate() window for a chart step: at least a minute, two steps. */
export function rateWindow(stepSec: number): string {
  return `${Math.max(60, 2 * stepSec)}s`;
}

export interface HostChart {
  id: string;
  title: string;
  expr: string;
  unit: Unit;
  stacked?: boolean;
  /** The series label from its labels. */
  label: (m: Record<string, string>) => string;
}

const join = (...xs: (string | undefined)[]) => xs.filter((x) => x !== undefined && x !== '').join(' ') || 'value';

/** hostCharts are the host page's charts, each a PromQL range query on host_name. */
export function hostCharts(host: string, stepSec: number): HostChart[] {
  const h = `host_name=${quote(host)}`;
  const w = rateWindow(stepSec);
  return [
    { id: 'cpu', title: 'CPU utilisation', expr: `faultline:host_cpu_utilization:ratio{${h}}`, unit: 'ratio', label: () => 'busy' },
    {
      id: 'cpu-state',
      title: 'CPU by state',
      expr: `avg by (state) (system_cpu_utilization_ratio{${h}, state!="idle"})`,
      unit: 'ratio',
      stacked: true,
      label: (m) => m.state ?? 'value',
    },
    {
      id: 'load',
      title: 'Load average',
      expr: `{__name__=~"system_cpu_load_average_(1m|5m|15m)", ${h}}`,
      unit: '',
      label: (m) => (m.__name__ ?? '').replace('system_cpu_load_average_', '') || 'load',
    },
    { id: 'mem', title: 'Memory utilisation', expr: `faultline:host_memory_utilization:ratio{${h}}`, unit: 'ratio', label: () => 'used' },
    {
      id: 'mem-state',
      title: 'Memory usage by state',
      expr: `sum by (state) (system_memory_usage_bytes{${h}})`,
      unit: 'bytes',
      stacked: true,
      label: (m) => m.state ?? 'value',
    },
    {
      id: 'fs',
      title: 'Filesystem utilisation',
      expr: `faultline:host_filesystem_utilization:ratio{${h}}`,
      unit: 'ratio',
      label: (m) => m.mountpoint ?? 'value',
    },
    {
      id: 'fs-bytes',
      title: 'Filesystem used',
      expr: `sum by (mountpoint) (system_filesystem_usage_bytes{${h}, state="used"})`,
      unit: 'bytes',
      label: (m) => m.mountpoint ?? 'value',
    },
    {
      id: 'disk',
      title: 'Disk I/O',
      expr: `sum by (direction) (rate(system_disk_io_bytes_total{${h}}[${w}]))`,
      unit: 'Bps',
      label: (m) => m.direction ?? 'value',
    },
    {
      id: 'net',
      title: 'Network I/O',
      expr: `sum by (device, direction) (rate(system_network_io_bytes_total{${h}}[${w}]))`,
      unit: 'Bps',
      label: (m) => join(m.device, m.direction),
    },
    {
      id: 'net-errors',
      title: 'Network errors and drops',
      expr: `label_replace(sum by (device, direction) (rate(system_network_errors_total{${h}}[${w}])), "kind", "errors", "", "") or label_replace(sum by (device, direction) (rate(system_network_dropped_total{${h}}[${w}])), "kind", "dropped", "", "")`,
      unit: 'rps',
      label: (m) => join(m.kind, m.device, m.direction),
    },
  ];
}

/** topProcessesQuery ranks a host's processes by CPU over the last window (instant query). */
export function topProcessesQuery(host: string, n = 10, window = '5m'): string {
  return `topk(${n}, sum by (process_executable_name, process_pid, process_owner) (avg_over_time(process_cpu_utilization_ratio{host_name=${quote(host)}}[${window}])))`;
}

export interface ProcessRow {
  name: string;
  pid: string;
  owner: string;
  cpu: number;
}

/** processRows turns the top-processes answer into rows, busiest first. */
export function processRows(samples: PromSample[]): ProcessRow[] {
  return samples
    .map((s) => ({
      name: s.metric.process_executable_name ?? '?',
      pid: s.metric.process_pid ?? '',
      owner: s.metric.process_owner ?? '',
      cpu: s.value,
    }))
    .filter((r) => Number.isFinite(r.cpu))
    .sort((a, b) => b.cpu - a.cpu || a.name.localeCompare(b.name));
}

/** processSeriesQuery charts the given processes' CPU over the range (by PID). */
export function processSeriesQuery(host: string, pids: string[]): string | null {
  const ok = pids.filter((p) => /^\d+$/.test(p));
  if (ok.length === 0) return null;
  return `sum by (process_executable_name, process_pid) (process_cpu_utilization_ratio{host_name=${quote(host)}, process_pid=~${quote(ok.join('|'))}})`;
}

/** utilClass colours a utilisation bar: ok below 70%, degraded below 90%, failing above. */
export function utilClass(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'util-unknown';
  if (v >= 0.9) return 'util-failing';
  if (v >= 0.7) return 'util-degraded';
  return 'util-ok';
}
