// URL state: every view is addressable. A route is a page plus its path arguments and query
// parameters; pages read their filters from the query so a copied link reopens the same view.

export type Page = 'topology' | 'incidents' | 'traces' | 'trace' | 'logs' | 'hosts' | 'alerts' | 'notfound';

export interface Route {
  page: Page;
  /** The path argument: a trace ID for 'trace', a host name for 'hosts'. */
  arg: string;
  query: URLSearchParams;
}

const pages: Record<string, Page> = {
  '': 'topology',
  topology: 'topology',
  incidents: 'incidents',
  traces: 'traces',
  logs: 'logs',
  hosts: 'hosts',
  alerts: 'alerts',
};

/** parseRoute maps a location's path and search string to a route. */
export function parseRoute(pathname: string, search: string): Route {
  const query = new URLSearchParams(search);
  const parts = pathname.split('/').filter((p) => p !== '');
  const first = parts[0] ?? '';
  let arg = '';
  if (parts.length > 1) {
    try {
      arg = decodeURIComponent(parts.slice(1).join('/'));
    } catch {
      return { page: 'notfound', arg: '', query };
    }
  }
  if (first === 'traces' && arg !== '') {
    return { page: 'trace', arg, query };
  }
  const page = pages[first];
  if (page === undefined || (arg !== '' && page !== 'hosts')) {
    return { page: 'notfound', arg: '', query };
  }
  return { page, arg, query };
}

/**
 * href builds a link: path plus the query parameters that are set. Empty values are left out
 * so links stay short and an unset filter is the same as an absent one.
 */
export function href(path: string, params: Record<string, string | number | boolean | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

/** withParams returns the current search string with some parameters set or removed. */
export function withParams(search: string, changes: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams(search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '' || v === false) q.delete(k);
    else q.set(k, String(v));
  }
  q.sort();
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** Query parameters that every page shares (time range, refresh); links between pages keep them. */
export const sharedParams = ['from', 'to', 'refresh'] as const;

/** keepShared copies the shared parameters of search into params (params win). */
export function keepShared(search: string, params: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const q = new URLSearchParams(search);
  const out: Record<string, string | undefined> = {};
  for (const k of sharedParams) {
    const v = q.get(k);
    if (v !== null) out[k] = v;
  }
  return { ...out, ...params };
}
