// The HTTP API client. Every request carries the bearer token when one is stored (servers
// started with -http.auth-token); a 401 asks the shell for one.

const tokenKey = 'faultline.token';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function getToken(): string {
  try {
    return localStorage.getItem(tokenKey) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token: string): void {
  try {
    if (token === '') localStorage.removeItem(tokenKey);
    else localStorage.setItem(tokenKey, token);
  } catch {
    // Storage can be disabled; the token then lasts until the page reloads.
  }
  memoryToken = token;
}

let memoryToken = '';

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** onUnauthorized registers a callback for 401 answers; it returns the unsubscribe function. */
export function onUnauthorized(l: Listener): () => void {
  unauthorizedListeners.add(l);
  return () => unauthorizedListeners.delete(l);
}

export type Params = Record<string, string | number | boolean | undefined | null | string[]>;

/** buildUrl joins a path and its parameters; arrays repeat the key, empty values are left out. */
export function buildUrl(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== '') q.append(k, x);
    } else {
      q.set(k, String(v));
    }
  }
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

function requestHeaders(): Record<string, string> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken() || memoryToken;
  if (token !== '') headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** Requests started before the page asked for them: URL → response, each taken once. */
const early = new Map<string, Promise<Response>>();

/**
 * prefetch starts a GET now, before the app has rendered, for a page that will ask for exactly
 * that URL: its getJSON then takes this answer instead of sending the request again.
 */
export function prefetch(path: string, params: Params = {}): void {
  const url = buildUrl(path, params);
  if (early.has(url)) return;
  const p = fetch(url, { headers: requestHeaders() });
  p.catch(() => {}); // the page's getJSON reports it
  early.set(url, p);
  setTimeout(() => early.get(url) === p && early.delete(url), 10_000); // never asked for
}

/** getJSON fetches a JSON answer; non-2xx answers become ApiError with the server's reason. */
export async function getJSON<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const url = buildUrl(path, params);
  const pending = early.get(url);
  early.delete(url);
  let resp: Response;
  try {
    resp = await (pending ?? fetch(url, { headers: requestHeaders(), signal }));
    signal?.throwIfAborted();
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, `Faultline is not reachable (${String(e)})`);
  }
  if (resp.status === 401) {
    for (const l of unauthorizedListeners) l();
  }
  const text = await resp.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    if (resp.ok) throw new ApiError(resp.status, `bad JSON from ${path}`);
  }
  if (!resp.ok) {
    const reason =
      body !== null && typeof body === 'object' && 'error' in body && typeof (body as { error: unknown }).error === 'string'
        ? (body as { error: string }).error
        : text.trim() || resp.statusText;
    throw new ApiError(resp.status, `${resp.status}: ${reason}`);
  }
  return body as T;
}
