// The logs page's data: one search over the range, then (live tail) a poll every 2 s for the
// records newer than the newest shown. While paused, new records wait in `pending`.
import { useCallback, useEffect, useRef, useState } from 'react';
import { getJSON } from '../lib/api';
import { toApi, type Resolved } from '../lib/time';
import type { LogRecord } from '../types';
import { logsParams, type LogFilters } from './filters';
import { maxRows, mergeTail, newRecords, sortNewestFirst } from './tail';

export const pollMs = 2000;
/** The most records one poll asks for; more in 2 s leaves a gap (shown as such). */
const pollLimit = 1000;

export interface LogsState {
  rows: LogRecord[];
  pending: LogRecord[];
  loading: boolean;
  error?: Error;
  tailError?: Error;
  /** The first search answered as many records as asked: older ones are not shown. */
  truncated: boolean;
  /** A poll answered its limit: some records between polls were skipped. */
  gap: boolean;
  flush: () => void;
}

interface Options {
  filters: LogFilters;
  /** Changes when what is searched changes (filters, range, limit). */
  searchKey: string;
  resolved: Resolved;
  limit: number;
  tick: number;
  paused: boolean;
}

export function useLogs({ filters, searchKey, resolved, limit, tick, paused }: Options): LogsState {
  const [rows, setRowsState] = useState<LogRecord[]>([]);
  const [pending, setPendingState] = useState<LogRecord[]>([]);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(0);
  const [error, setError] = useState<Error | undefined>();
  const [tailError, setTailError] = useState<Error | undefined>();
  const [truncated, setTruncated] = useState(false);
  const [gap, setGap] = useState(false);

  // Refs hold the current values for the poll (which runs outside renders).
  const rowsRef = useRef<LogRecord[]>([]);
  const pendingRef = useRef<LogRecord[]>([]);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;
  const resolvedRef = useRef(resolved);
  resolvedRef.current = resolved;
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const startRef = useRef(resolved.start);

  const setRows = (r: LogRecord[]) => {
    rowsRef.current = r;
    setRowsState(r);
  };
  const setPending = (p: LogRecord[]) => {
    pendingRef.current = p;
    setPendingState(p);
  };

  const live = filters.live;
  useEffect(() => {
    const ctl = new AbortController();
    const r = resolvedRef.current;
    startRef.current = r.start;
    setLoading(true);
    getJSON<{ logs: LogRecord[] }>('/api/v1/logs', logsParams(filtersRef.current, r, limit), ctl.signal).then(
      (a) => {
        if (ctl.signal.aborted) return;
        const got = a.logs ?? [];
        setRows(sortNewestFirst(got).slice(0, maxRows));
        setPending([]);
        setTruncated(got.length >= limit);
        setGap(false);
        setError(undefined);
        setTailError(undefined);
        setLoading(false);
        setLoaded((n) => n + 1);
      },
      (e: unknown) => {
        if (ctl.signal.aborted) return;
        setError(e instanceof Error ? e : new Error(String(e)));
        setLoading(false);
      },
    );
    return () => ctl.abort();
    // Live tail does not search again on refresh ticks: the poll keeps it current.
  }, [searchKey, limit, live ? -1 : tick]);

  useEffect(() => {
    if (!live || loaded === 0) return;
    const ctl = new AbortController();
    let busy = false;
    const poll = async () => {
      if (busy || document.visibilityState !== 'visible') return;
      busy = true;
      try {
        const shown = pendingRef.current.length > 0 ? [...pendingRef.current, ...rowsRef.current] : rowsRef.current;
        const since = shown[0]?.time ?? toApi(startRef.current);
        const params = { ...logsParams(filtersRef.current, resolvedRef.current, pollLimit), start: since, end: undefined };
        const a = await getJSON<{ logs: LogRecord[] }>('/api/v1/logs', params, ctl.signal);
        const got = a.logs ?? [];
        const fresh = newRecords(shown, got);
        if (got.length >= pollLimit) setGap(true);
        if (fresh.length > 0) {
          if (pausedRef.current) setPending(mergeTail(pendingRef.current, fresh));
          else setRows(mergeTail(rowsRef.current, fresh));
        }
        setTailError(undefined);
      } catch (e) {
        if (!ctl.signal.aborted) setTailError(e instanceof Error ? e : new Error(String(e)));
      } finally {
        busy = false;
      }
    };
    const id = window.setInterval(poll, pollMs);
    return () => {
      window.clearInterval(id);
      ctl.abort();
    };
  }, [live, loaded, searchKey]);

  const flush = useCallback(() => {
    if (pendingRef.current.length === 0) return;
    setRows(mergeTail(rowsRef.current, pendingRef.current));
    setPending([]);
  }, []);

  useEffect(() => {
    if (!paused) flush();
  }, [paused, flush]);

  return { rows, pending, loading, error, tailError, truncated, gap, flush };
}
