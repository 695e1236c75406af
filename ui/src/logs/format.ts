// How a log record is shown: its time with milliseconds, its attributes as text, and whether
// its body is long enough to collapse.
import { formatTime } from '../lib/time';

/** logTime is formatTime (viewer's zone) with the milliseconds; the raw text if unparseable. */
export function logTime(t: string, now = Date.now()): string {
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return t;
  const frac = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${formatTime(ms, now)}.${frac}`;
}

/** attributeEntries lists attributes sorted by key, values as text (objects as JSON). */
export function attributeEntries(attrs: Record<string, unknown> | undefined): [string, string][] {
  if (!attrs) return [];
  return Object.entries(attrs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v)]);
}

/** A body longer than this many lines or characters is collapsed until expanded. */
export const collapseLines = 6;
export const collapseChars = 600;

export function isLongBody(body: string): boolean {
  if (body.length > collapseChars) return true;
  let lines = 1;
  for (let i = 0; i < body.length; i++) if (body.charCodeAt(i) === 10 && ++lines > collapseLines) return true;
  return false;
}
