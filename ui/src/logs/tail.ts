// Live tail: records newer than the newest shown are fetched with start = that record's time
// (the API's window is inclusive), so records at the boundary come again and are dropped.
import type { LogRecord } from '../types';

/** The most rows the page keeps; older ones fall off the bottom. */
export const maxRows = 2000;

/**
 * timeKey makes an RFC 3339 time sortable as a string with nanosecond precision (the API
 * answers nanoseconds; Date keeps milliseconds). Unparseable times sort first.
 */
export function timeKey(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/i.exec(t.trim());
  if (!m) return '0'.repeat(22);
  const secs = Date.parse(m[1] + (m[3].toUpperCase() === 'Z' ? 'Z' : m[3]));
  if (Number.isNaN(secs)) return '0'.repeat(22);
  const whole = String(Math.floor(secs / 1000) + 1e11).padStart(13, '0');
  const frac = (m[2] ?? '').slice(0, 9).padEnd(9, '0');
  return whole + frac;
}

/** recordKey identifies a record for de-duplication: all of its fields. */
export function recordKey(r: LogRecord): string {
  return JSON.stringify([r.time, r.service, r.host, r.severity, r.severity_number ?? 0, r.body, r.trace_id ?? '', r.span_id ?? '', r.attributes ?? {}]);
}

/**
 * newRecords keeps, of a poll's answer, what is not shown yet: records older than the newest
 * shown are dropped, and at the boundary instant as many identical records as are shown
 * there already (identical records can legitimately repeat). Newest first, like the API.
 */
export function newRecords(shown: LogRecord[], incoming: LogRecord[]): LogRecord[] {
  if (shown.length === 0) return sortNewestFirst(incoming);
  const boundary = timeKey(shown[0].time);
  const seen = new Map<string, number>();
  for (const r of shown) {
    if (timeKey(r.time) !== boundary) break;
    const k = recordKey(r);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  const out: LogRecord[] = [];
  for (const r of incoming) {
    const tk = timeKey(r.time);
    if (tk < boundary) continue;
    if (tk === boundary) {
      const k = recordKey(r);
      const n = seen.get(k) ?? 0;
      if (n > 0) {
        seen.set(k, n - 1);
        continue;
      }
    }
    out.push(r);
  }
  return sortNewestFirst(out);
}

/** sortNewestFirst orders records newest first (stable for equal times). */
export function sortNewestFirst(rs: LogRecord[]): LogRecord[] {
  const keyed = rs.map((r, i) => ({ r, k: timeKey(r.time), i }));
  keyed.sort((a, b) => (a.k < b.k ? 1 : a.k > b.k ? -1 : a.i - b.i));
  return keyed.map((x) => x.r);
}

/** mergeTail prepends fresh records (newest first) to the shown ones and keeps at most cap. */
export function mergeTail(shown: LogRecord[], fresh: LogRecord[], cap = maxRows): LogRecord[] {
  if (fresh.length === 0) return shown.length > cap ? shown.slice(0, cap) : shown;
  return [...fresh, ...shown].slice(0, cap);
}

/** newestTime is the time to poll from: the newest of the shown and pending records. */
export function newestTime(shown: LogRecord[], pending: LogRecord[]): string | null {
  const a = pending[0]?.time;
  const b = shown[0]?.time;
  if (a === undefined) return b ?? null;
  if (b === undefined) return a;
  return timeKey(a) >= timeKey(b) ? a : b;
}
