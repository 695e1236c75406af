// Pure helpers of the incidents page: durations, windows for links, and the evidence of a
// root cause grouped by type with its measures formatted.
import type { Evidence, Incident } from '../types';
import { formatValue, short } from '../lib/format';
import { formatDuration, toApi } from '../lib/time';

/** parseTime reads an RFC 3339 instant (nanoseconds are cut to milliseconds); NaN if invalid. */
export function parseTime(s: string | null | undefined): number {
  if (!s) return Number.NaN;
  return Date.parse(s);
}

/** incidentEnd is the end of an incident, or now while it is ongoing. */
export function incidentEnd(inc: Pick<Incident, 'end' | 'ongoing'>, now: number): number {
  if (inc.ongoing || inc.end === null) return now;
  const e = parseTime(inc.end);
  return Number.isNaN(e) ? now : e;
}

/** incidentDuration in milliseconds (to now for an ongoing incident). */
export function incidentDuration(inc: Pick<Incident, 'start' | 'end' | 'ongoing'>, now: number): number {
  return Math.max(0, incidentEnd(inc, now) - parseTime(inc.start));
}

/** rootCauseServices lists the root causes' services, the headline one first, without repeats. */
export function rootCauseServices(inc: Pick<Incident, 'root_cause' | 'root_causes'>): string[] {
  const out: string[] = [];
  for (const s of [inc.root_cause, ...(inc.root_causes ?? []).map((r) => r.service)]) {
    if (s && !out.includes(s)) out.push(s);
  }
  return out;
}

/** blastRadius is the number of services the incident spread to. */
export function blastRadius(inc: Pick<Incident, 'affected'>): number {
  return new Set((inc.affected ?? []).map((a) => a.service)).size;
}

/**
 * incidentIdTime reads the start encoded in an incident ID ("20261122T122900Z-5e3c2cc4"), so a
 * link to an incident outside the shown range can offer its range; null if it has none.
 */
export function incidentIdTime(id: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) ? null : ms;
}

/**
 * aroundIncident is the from/to of a link "around" the incident: padMs before its start to
 * padMs after its end; an ongoing incident's window runs to now (to left out).
 */
export function aroundIncident(inc: Pick<Incident, 'start' | 'end' | 'ongoing'>, padMs = 5 * 60_000): { from: string; to?: string } {
  const start = parseTime(inc.start);
  const from = toApi(start - padMs);
  if (inc.ongoing || inc.end === null) return { from };
  return { from, to: toApi(parseTime(inc.end) + padMs) };
}

// Evidence.

export interface EvidenceGroup {
  type: string;
  title: string;
  items: Evidence[];
}

const groupTitles: Record<string, string> = {
  anomaly: 'Anomalies',
  amplification: 'Call amplification',
  error_origin: 'Where errors start',
  latency_origin: 'Where time is lost',
  error_message: 'Error messages',
  error_log: 'Error logs',
};

const groupOrder = ['anomaly', 'amplification', 'error_origin', 'latency_origin', 'error_message', 'error_log'];

/** isHostEvidence says whether an evidence type is about hosts (saturation of a machine). */
export function isHostEvidence(type: string): boolean {
  return /host/i.test(type);
}

function titleOf(type: string): string {
  if (groupTitles[type]) return groupTitles[type];
  const words = type.replace(/[_-]+/g, ' ').trim();
  return words === '' ? 'Other evidence' : words[0].toUpperCase() + words.slice(1);
}

/**
 * groupEvidence groups evidence by type: the known types in a fixed order, then host
 * evidence, then any other type in the order first seen. Items keep their order.
 */
export function groupEvidence(list: Evidence[]): EvidenceGroup[] {
  const byType = new Map<string, Evidence[]>();
  for (const e of list) {
    const t = typeof e.type === 'string' && e.type !== '' ? e.type : 'other';
    const items = byType.get(t);
    if (items) items.push(e);
    else byType.set(t, [e]);
  }
  const rank = (t: string) => {
    const i = groupOrder.indexOf(t);
    if (i >= 0) return i;
    return isHostEvidence(t) ? groupOrder.length : groupOrder.length + 1;
  };
  const types = [...byType.keys()];
  const seen = new Map(types.map((t, i) => [t, i]));
  types.sort((a, b) => rank(a) - rank(b) || seen.get(a)! - seen.get(b)!);
  return types.map((t) => ({ type: t, title: titleOf(t), items: byType.get(t)! }));
}

/** formatMeasure prints an evidence figure in its unit (ratio, ms, s, bytes, calls_per_request…). */
export function formatMeasure(v: unknown, unit: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'ratio':
      return formatValue(v, 'ratio');
    case 'percent':
      return formatValue(v, 'percent');
    case 'ms':
      return formatDuration(v);
    case 's':
    case 'seconds':
      return formatDuration(v * 1000);
    case 'bytes':
      return formatValue(v, 'bytes');
    case 'calls_per_request':
      return `${short(v)} calls/request`;
    case 'rps':
      return formatValue(v, 'rps');
    case undefined:
    case null:
    case '':
      return short(v);
    default:
      return `${short(v)} ${String(unit)}`;
  }
}

const signalNames: Record<string, string> = {
  errors: 'error rate',
  latency: 'mean duration',
  down: 'requests served',
  traffic: 'calls per request',
};

/** signalName is how a signal reads in a sentence ("errors" → "error rate"). */
export function signalName(signal: unknown): string {
  if (typeof signal !== 'string' || signal === '') return 'value';
  return signalNames[signal] ?? signal.replace(/_/g, ' ');
}

/** The fields an evidence renderer shows by itself; the generic view lists the others. */
const shownFields = new Set(['type', 'text']);

/**
 * evidenceFields lists an evidence's fields other than type and text as [key, text] pairs
 * for the generic view of unknown types: arrays joined, objects as JSON, empty ones left out.
 */
export function evidenceFields(e: Evidence): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(e)) {
    if (shownFields.has(k) || v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      out.push([k, v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ')]);
    } else if (typeof v === 'object') {
      out.push([k, JSON.stringify(v)]);
    } else {
      out.push([k, String(v)]);
    }
  }
  return out;
}

/** traceIds reads an evidence's trace_ids, keeping only strings. */
export function traceIds(e: Evidence): string[] {
  const v = e.trace_ids;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}

/** kindClass maps a root-cause kind to its CSS class (colour), unknown kinds to a neutral one. */
export function kindClass(kind: string): string {
  return ['error', 'latency', 'saturation', 'down'].includes(kind) ? `kind-${kind}` : 'kind-other';
}
