// Service colours: a stable hash of the name picks one of the palette's CSS variables
// (--svc-0 … --svc-11 in trace.css, defined for both themes), so a service keeps its colour
// across traces and reloads. Within one trace, a service whose colour is already taken moves
// to the next free one (services in name order), so the services of a trace stay apart.

export const paletteSize = 12;

/** fnv1a is the 32-bit FNV-1a hash of the string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function serviceColorIndex(service: string): number {
  return fnv1a(service) % paletteSize;
}

export function serviceColor(service: string): string {
  return `var(--svc-${serviceColorIndex(service)})`;
}

/** assignServiceColors maps each service to a colour: its hash's, or the next free one on a clash. */
export function assignServiceColors(services: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<number>();
  for (const s of [...new Set(services)].sort()) {
    let i = serviceColorIndex(s);
    if (used.size < paletteSize) {
      while (used.has(i)) i = (i + 1) % paletteSize;
    }
    used.add(i);
    out.set(s, `var(--svc-${i})`);
  }
  return out;
}

/** attrValue renders an attribute value as text: strings as they are, anything else as JSON. */
export function attrValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** attrEntries are an attribute map's pairs sorted by key (empty for anything but an object). */
export function attrEntries(m: unknown): [string, string][] {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return [];
  return Object.entries(m as Record<string, unknown>)
    .map(([k, v]): [string, string] => [k, attrValue(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
