// Time ranges as the URL carries them: "now", "now-15m", RFC 3339, or Unix seconds. Relative
// ranges are resolved at every refresh, so a shared "last hour" link stays the last hour.

export interface TimeRange {
  from: string;
  to: string;
}

/** The page's first "now": relative ranges resolve against it until the first refresh. */
export const loadedAt = Date.now();

export const defaultRange: TimeRange = { from: 'now-1h', to: 'now' };

export const presets: { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 3 hours', from: 'now-3h' },
  { label: 'Last 12 hours', from: 'now-12h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
];

const unitMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** parseDuration reads "250ms", "15m", "1h30m", "2d" (and bare seconds) into milliseconds. */
export function parseDuration(s: string): number | null {
  const t = s.trim();
  if (t === '') return null;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * unitMs[m[2]];
    consumed += m[0].length;
  }
  return consumed === t.length && consumed > 0 ? total : null;
}

/** resolveTime turns one end of a range into epoch milliseconds, or null if it is not valid. */
export function resolveTime(s: string, now: number): number | null {
  const t = s.trim();
  if (t === 'now') return now;
  if (t.startsWith('now-')) {
    const d = parseDuration(t.slice(4));
    return d === null ? null : now - d;
  }
  if (/^\d{9,11}(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

export interface Resolved {
  start: number;
  end: number;
}

/** resolveRange resolves both ends; an invalid or inverted range falls back to the default. */
export function resolveRange(r: TimeRange, now: number): Resolved {
  const start = resolveTime(r.from, now);
  const end = resolveTime(r.to, now);
  if (start === null || end === null || start >= end) {
    return { start: now - 3_600_000, end: now };
  }
  return { start, end };
}

/** rangeFromQuery reads from/to off the URL, with the default range for what is missing. */
export function rangeFromQuery(q: URLSearchParams): TimeRange {
  return { from: q.get('from') ?? defaultRange.from, to: q.get('to') ?? defaultRange.to };
}

/** isValidRange says whether both ends parse and from is before to. */
export function isValidRange(r: TimeRange, now: number): boolean {
  const s = resolveTime(r.from, now);
  const e = resolveTime(r.to, now);
  return s !== null && e !== null && s < e;
}

/** step picks a query_range step giving about `points` points, rounded to a readable size. */
export function step(r: Resolved, points = 200): number {
  const raw = (r.end - r.start) / 1000 / points;
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  for (const n of nice) if (n >= raw) return n;
  return 86400;
}

/** toApi formats epoch milliseconds the way the HTTP API takes times (RFC 3339). */
export function toApi(ms: number): string {
  return new Date(ms).toISOString();
}

/** describeRange is the picker's label: the preset's name or the two absolute ends. */
export function describeRange(r: TimeRange): string {
  if (r.to === 'now') {
    const p = presets.find((x) => x.from === r.from);
    if (p) return p.label;
    if (r.from.startsWith('now-')) return `Last ${r.from.slice(4)}`;
  }
  return `${r.from} → ${r.to}`;
}

/** formatDuration prints milliseconds the way an SRE reads them: 850µs, 12.3ms, 1.52s, 3m20s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 10) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 100 ? 1 : 0)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h${m - h * 60}m`;
}

/** formatTime prints an instant in the viewer's zone with seconds (and the date when not today). */
export function formatTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour12: false });
  return sameDay ? time : `${d.toLocaleDateString()} ${time}`;
}
