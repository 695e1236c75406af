// The logs page's filters, as the URL carries them and as GET /api/v1/logs takes them.
import type { Params } from '../lib/api';
import { toApi, type Resolved } from '../lib/time';

export const severities = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface LogFilters {
  q: string;
  service: string;
  host: string;
  trace_id: string;
  /** Minimum severity ('' for any). */
  severity: string;
  live: boolean;
}

export const emptyFilters: LogFilters = { q: '', service: '', host: '', trace_id: '', severity: '', live: false };

/** filtersFromQuery reads the filters off the URL; an unknown severity is ignored. */
export function filtersFromQuery(q: URLSearchParams): LogFilters {
  const sev = (q.get('severity') ?? '').toLowerCase();
  return {
    q: q.get('q') ?? '',
    service: q.get('service') ?? '',
    host: q.get('host') ?? '',
    trace_id: (q.get('trace_id') ?? '').trim().toLowerCase(),
    severity: (severities as readonly string[]).includes(sev) ? sev : '',
    live: q.get('live') === '1',
  };
}

/** filtersToQuery is the change to apply to the URL (empty values remove the parameter). */
export function filtersToQuery(f: LogFilters): Record<string, string | undefined> {
  return {
    q: f.q || undefined,
    service: f.service || undefined,
    host: f.host || undefined,
    trace_id: f.trace_id || undefined,
    severity: f.severity || undefined,
    live: f.live ? '1' : undefined,
  };
}

/** validTraceId says whether a trace ID filter can be sent (32 hex digits, not all zeros). */
export function validTraceId(s: string): boolean {
  return /^[0-9a-f]{32}$/i.test(s) && !/^0+$/.test(s);
}

/**
 * logsParams are the API parameters of a search. Live tail has no end (the server's end is
 * now); an invalid trace ID is left out (the page says so) rather than answered with a 400.
 */
export function logsParams(f: LogFilters, r: Resolved, limit: number): Params {
  return {
    q: f.q.trim() || undefined,
    service: f.service || undefined,
    host: f.host || undefined,
    trace_id: f.trace_id && validTraceId(f.trace_id) ? f.trace_id : undefined,
    severity: f.severity || undefined,
    start: toApi(r.start),
    end: f.live ? undefined : toApi(r.end),
    limit,
  };
}

/**
 * severityClass maps a record's severity to a .sev-* class: by number when known (OTLP: 1-4
 * trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24 fatal), else by its text.
 */
export function severityClass(text: string, num?: number): string {
  if (num !== undefined && num >= 1 && num <= 24) return `sev-${severities[Math.floor((num - 1) / 4)]}`;
  const t = text.toLowerCase();
  if (t.startsWith('trace')) return 'sev-trace';
  if (t.startsWith('debug')) return 'sev-debug';
  if (t.startsWith('info') || t === 'notice') return 'sev-info';
  if (t.startsWith('warn')) return 'sev-warn';
  if (t.startsWith('err')) return 'sev-error';
  if (t.startsWith('fatal') || t === 'critical' || t === 'crit' || t === 'panic' || t === 'emerg' || t === 'alert') return 'sev-fatal';
  return 'sev-unknown';
}
