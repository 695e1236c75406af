import { createContext, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { parseRoute, type Route } from './url';
import { loadedAt, parseDuration, rangeFromQuery, resolveRange, type Resolved, type TimeRange } from './time';

// Location: the app's one source of truth for what is shown.

const locationListeners = new Set<() => void>();
function subscribeLocation(l: () => void): () => void {
  locationListeners.add(l);
  window.addEventListener('popstate', l);
  return () => {
    locationListeners.delete(l);
    window.removeEventListener('popstate', l);
  };
}
const locationKey = () => window.location.pathname + window.location.search;

/** navigate moves to a path+search without a page load; replace keeps history short for filter typing. */
export function navigate(to: string, replace = false): void {
  if (to === locationKey()) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const l of locationListeners) l();
}

let cachedKey = '';
let cachedRoute: Route | null = null;

export function useRoute(): Route {
  const key = useSyncExternalStore(subscribeLocation, locationKey);
  if (cachedRoute === null || key !== cachedKey) {
    cachedKey = key;
    cachedRoute = parseRoute(window.location.pathname, window.location.search);
  }
  return cachedRoute;
}

/** setQuery changes some query parameters of the current page (replace: no history entry). */
export function setQuery(changes: Record<string, string | number | boolean | undefined | null>, replace = false): void {
  const q = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '' || v === false) q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(window.location.pathname + (s === '' ? '' : `?${s}`), replace);
}

/** onLinkClick makes an <a href> navigate in-app while keeping middle-click / ctrl-click. */
export function onLinkClick(e: React.MouseEvent<HTMLAnchorElement>): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.currentTarget;
  if (a.target !== '' && a.target !== '_self') return;
  const url = new URL(a.href);
  if (url.origin !== window.location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}

// Refresh: a tick that changes on every auto-refresh and on the refresh button; data hooks
// re-run on it and resolve relative ranges again.

export interface RefreshState {
  tick: number;
  now: number;
  refresh: () => void;
}

export const RefreshContext = createContext<RefreshState>({ tick: 0, now: loadedAt, refresh: () => {} });

export function useRefreshState(intervalParam: string | null): RefreshState {
  const [state, setState] = useState({ tick: 0, now: loadedAt });
  const refresh = useCallback(() => setState((s) => ({ tick: s.tick + 1, now: Date.now() })), []);
  useEffect(() => {
    const ms = intervalParam ? parseDuration(intervalParam) : null;
    if (ms === null || ms < 1000) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === 'visible') refresh();
    }, ms);
    return () => window.clearInterval(id);
  }, [intervalParam, refresh]);
  return { ...state, refresh };
}

export function useRefresh(): RefreshState {
  return useContext(RefreshContext);
}

/** useTimeRange is the page's range from the URL, resolved at the last refresh. */
export function useTimeRange(): { range: TimeRange; resolved: Resolved } {
  const route = useRoute();
  const { now } = useRefresh();
  const range = rangeFromQuery(route.query);
  const resolved = resolveRange(range, now);
  return { range, resolved };
}

// Async data.

export interface Async<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
}

/**
 * useAsync runs load whenever deps change, cancelling the previous run. Data from the last
 * success stays on screen while a refresh loads, so auto-refresh does not flicker.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<Async<T>>({ data: undefined, error: undefined, loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        setState((s) => ({ data: s.data, error: error instanceof Error ? error : new Error(String(error)), loading: false }));
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return state;
}

/** useTheme keeps the chosen theme ("light", "dark" or "" for the system's) on <html>. */
export function useTheme(): [string, (t: string) => void] {
  const [theme, setThemeState] = useState(() => {
    try {
      return localStorage.getItem('faultline.theme') ?? '';
    } catch {
      return '';
    }
  });
  useEffect(() => {
    const el = document.documentElement;
    const dark = theme === 'dark' || (theme === '' && window.matchMedia('(prefers-color-scheme: dark)').matches);
    el.dataset.theme = dark ? 'dark' : 'light';
  }, [theme]);
  const setTheme = useCallback((t: string) => {
    try {
      localStorage.setItem('faultline.theme', t);
    } catch {
      // not persisted
    }
    setThemeState(t);
  }, []);
  return [theme, setTheme];
}
