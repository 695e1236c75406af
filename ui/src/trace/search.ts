// The trace search form as URL state: a pure mapping between the form's fields and the query
// string (so a link reproduces a search), the client-side checks that mirror the server's
// 400s, and the API parameters.
import type { Params } from '../lib/api';
import { parseDuration, toApi, type Resolved } from '../lib/time';
import type { TraceSummary } from '../types';

export type Status = '' | 'error' | 'ok';

export interface SearchForm {
  service: string;
  operation: string;
  /** The attribute filter as typed: space-separated key=value tokens (values may be "quoted"). */
  attrs: string;
  status: Status;
  minDuration: string;
  maxDuration: string;
  limit: string;
}

export const defaultLimit = 50;

export const emptyForm: SearchForm = { service: '', operation: '', attrs: '', status: '', minDuration: '', maxDuration: '', limit: String(defaultLimit) };

/** The query parameters the form owns; the rest of the URL (time range, sort…) is kept. */
const formKeys = ['service', 'operation', 'attr', 'status', 'minDuration', 'maxDuration', 'limit'] as const;

/** formFromQuery reads the form off the URL; unknown status values read as "any". */
export function formFromQuery(q: URLSearchParams): SearchForm {
  const status = q.get('status') ?? '';
  return {
    service: q.get('service') ?? '',
    operation: q.get('operation') ?? '',
    attrs: formatAttrs(q.getAll('attr')),
    status: status === 'error' || status === 'ok' ? status : '',
    minDuration: q.get('minDuration') ?? '',
    maxDuration: q.get('maxDuration') ?? '',
    limit: q.get('limit') ?? String(defaultLimit),
  };
}

/**
 * formToQuery writes the form into a copy of current (which keeps from, to, refresh and the
 * rest): empty fields and the default limit are left out; attributes repeat attr=.
 */
export function formToQuery(f: SearchForm, current: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const q = new URLSearchParams(current);
  for (const k of formKeys) q.delete(k);
  const set = (k: string, v: string) => {
    const t = v.trim();
    if (t !== '') q.set(k, t);
  };
  set('service', f.service);
  set('operation', f.operation);
  for (const a of parseAttrs(f.attrs).tokens) q.append('attr', a);
  set('status', f.status);
  set('minDuration', f.minDuration);
  set('maxDuration', f.maxDuration);
  if (f.limit.trim() !== String(defaultLimit)) set('limit', f.limit);
  q.sort();
  return q;
}

/**
 * parseAttrs splits "k=v k2=v2" into tokens. A value (or the whole token) may be wrapped in
 * double quotes to hold spaces; \" and \\ escape inside quotes. Tokens must be key=value with
 * a non-empty key, and a key may not take two values (the server refuses both).
 */
export function parseAttrs(s: string): { tokens: string[]; error?: string } {
  const raw: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '\\' && i + 1 < s.length && (s[i + 1] === '"' || s[i + 1] === '\\')) {
        cur += s[++i];
      } else if (ch === '"') {
        quoted = false;
      } else {
        cur += ch;
      }
    } else if (ch === '"') {
      quoted = true;
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) raw.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += ch;
      inToken = true;
    }
  }
  if (quoted) return { tokens: [], error: 'attributes: a quote is not closed' };
  if (inToken) raw.push(cur);
  const seen = new Map<string, string>();
  const tokens: string[] = [];
  for (const t of raw) {
    const eq = t.indexOf('=');
    if (eq <= 0) return { tokens: [], error: `attributes: "${t}" must be key=value with a non-empty key` };
    const k = t.slice(0, eq);
    const v = t.slice(eq + 1);
    const prev = seen.get(k);
    if (prev !== undefined) {
      if (prev !== v) return { tokens: [], error: `attributes: key "${k}" is given twice with different values` };
      continue;
    }
    seen.set(k, v);
    tokens.push(t);
  }
  return { tokens };
}

/** formatAttrs is parseAttrs' inverse: tokens with spaces or quotes are quoted. */
export function formatAttrs(tokens: readonly string[]): string {
  return tokens
    .map((t) => {
      if (t !== '' && !/[\s"\\]/.test(t)) return t;
      const eq = t.indexOf('=');
      const esc = (x: string) => x.replace(/[\\"]/g, (c) => `\\${c}`);
      return eq > 0 && !/[\s"\\]/.test(t.slice(0, eq)) ? `${t.slice(0, eq)}="${esc(t.slice(eq + 1))}"` : `"${esc(t)}"`;
    })
    .join(' ');
}

/**
 * checkDuration validates a duration filter the way the server reads it: a Go duration
 * (250ms, 1.5s, 1h30m) or plain seconds. Returns milliseconds, null for an empty field, or an
 * error message. Days and weeks are not Go durations, so they are refused here too.
 */
export function checkDuration(name: string, s: string): number | null | { error: string } {
  const t = s.trim();
  if (t === '') return null;
  const ms = /[dw]/.test(t) ? null : parseDuration(t);
  if (ms === null) return { error: `${name}: "${t}" is neither a duration (250ms, 1.5s, 2m) nor seconds` };
  return ms;
}

export type FormErrors = Partial<Record<'attrs' | 'minDuration' | 'maxDuration' | 'limit', string>>;

/** validateForm lists what the server would refuse, by field; an empty object means valid. */
export function validateForm(f: SearchForm, maxLimit = 1000): FormErrors {
  const errors: FormErrors = {};
  const a = parseAttrs(f.attrs);
  if (a.error) errors.attrs = a.error;
  const min = checkDuration('min duration', f.minDuration);
  const max = checkDuration('max duration', f.maxDuration);
  if (min !== null && typeof min === 'object') errors.minDuration = min.error;
  if (max !== null && typeof max === 'object') errors.maxDuration = max.error;
  else if (max === 0) errors.maxDuration = 'max duration: must be more than 0';
  if (typeof min === 'number' && typeof max === 'number' && max > 0 && min > max) errors.minDuration = 'min duration must not be more than max duration';
  const l = f.limit.trim();
  if (l !== '') {
    const n = Number(l);
    if (!/^\d+$/.test(l) || n < 1 || n > maxLimit) errors.limit = `limit: a whole number from 1 to ${maxLimit}`;
  }
  return errors;
}

/** apiParams are GET /api/v1/traces' parameters for a form and a resolved range. */
export function apiParams(f: SearchForm, r: Resolved): Params {
  return {
    service: f.service.trim(),
    operation: f.operation.trim(),
    attr: parseAttrs(f.attrs).tokens,
    status: f.status,
    minDuration: f.minDuration.trim(),
    maxDuration: f.maxDuration.trim(),
    start: toApi(r.start),
    end: toApi(r.end),
    limit: f.limit.trim() === '' ? defaultLimit : f.limit.trim(),
  };
}

export type Sort = 'newest' | 'oldest' | 'slowest' | 'fastest';

export function sortFromQuery(q: URLSearchParams): Sort {
  const s = q.get('sort');
  return s === 'oldest' || s === 'slowest' || s === 'fastest' ? s : 'newest';
}

/** sortTraces orders a copy of the results; ties keep the newest first. */
export function sortTraces(traces: readonly TraceSummary[], sort: Sort): TraceSummary[] {
  const t = (x: TraceSummary) => {
    const ms = Date.parse(x.start);
    return Number.isNaN(ms) ? 0 : ms;
  };
  const out = [...traces];
  const byTime = (a: TraceSummary, b: TraceSummary) => t(b) - t(a) || (a.trace_id < b.trace_id ? -1 : a.trace_id > b.trace_id ? 1 : 0);
  switch (sort) {
    case 'oldest':
      return out.sort((a, b) => -byTime(a, b));
    case 'slowest':
      return out.sort((a, b) => b.duration_ms - a.duration_ms || byTime(a, b));
    case 'fastest':
      return out.sort((a, b) => a.duration_ms - b.duration_ms || byTime(a, b));
    default:
      return out.sort(byTime);
  }
}
