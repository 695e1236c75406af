// Loading the hosts: GET /api/v1/hosts, or the PromQL and logs fallback while the server has
// no such API (404).
import { ApiError, getJSON } from '../lib/api';
import { queryInstant } from '../lib/prom';
import { toApi, type Resolved } from '../lib/time';
import type { LogRecord } from '../types';
import { fallbackHosts, fallbackQueries, normalizeHosts, type HostInfo, type HostsAnswer } from './model';

export interface LoadedHosts {
  hosts: HostInfo[];
  /** 'api' when the hosts API answered, 'fallback' when built from PromQL and logs. */
  source: 'api' | 'fallback';
}

/** How many recent log records the fallback reads to see which services run where. */
const fallbackLogs = 1000;

export async function loadHosts(r: Resolved, signal: AbortSignal): Promise<LoadedHosts> {
  try {
    const a = await getJSON<HostsAnswer>('/api/v1/hosts', { start: toApi(r.start), end: toApi(r.end) }, signal);
    return { hosts: normalizeHosts(a), source: 'api' };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const q = fallbackQueries((r.end - r.start) / 1000);
  const [hosts, cpu, memory, lastSeen, logs] = await Promise.all([
    queryInstant(q.hosts, r.end, signal),
    queryInstant(q.cpu, r.end, signal).catch(() => []),
    queryInstant(q.memory, r.end, signal).catch(() => []),
    queryInstant(q.lastSeen, r.end, signal).catch(() => []),
    getJSON<{ logs: LogRecord[] }>('/api/v1/logs', { start: toApi(r.start), end: toApi(r.end), limit: fallbackLogs }, signal)
      .then((a) => a.logs ?? [])
      .catch(() => [] as LogRecord[]),
  ]);
  return { hosts: fallbackHosts({ hosts, cpu, memory, lastSeen, logs }), source: 'fallback' };
}
