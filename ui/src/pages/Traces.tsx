// Trace search (/traces): service, operation, attributes, status, duration bounds and limit,
// all in the URL (a search pushes a history entry, so a link reproduces it), over the shared
// time range. Results: duration over time and a table, newest first or by duration.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link } from '../components/Link';
import { Empty, ErrorBox, Loading } from '../components/State';
import { ApiError, getJSON } from '../lib/api';
import { navigate, setQuery, useAsync, useRefresh, useRoute, useTimeRange } from '../lib/hooks';
import { formatDuration, formatTime } from '../lib/time';
import { href, keepShared } from '../lib/url';
import { rememberSearch } from '../trace/lastSearch';
import { Scatter } from '../trace/Scatter';
import {
  apiParams,
  formFromQuery,
  formToQuery,
  sortFromQuery,
  sortTraces,
  validateForm,
  type FormErrors,
  type SearchForm,
  type Sort,
  type Status,
} from '../trace/search';
import type { TraceSummary } from '../types';
import '../trace/trace.css';

export function TracesPage() {
  const route = useRoute();
  const { resolved } = useTimeRange();
  const { tick, refresh } = useRefresh();
  const urlForm = formFromQuery(route.query);
  const formKey = JSON.stringify(urlForm);
  const sort = sortFromQuery(route.query);

  useEffect(() => {
    rememberSearch(window.location.pathname + window.location.search);
  });

  // The form edits a draft; Search writes it to the URL. Back/forward bring the URL's back.
  const [draft, setDraft] = useState<SearchForm>(urlForm);
  const [errors, setErrors] = useState<FormErrors>({});
  useEffect(() => {
    setDraft(JSON.parse(formKey) as SearchForm);
    setErrors({});
  }, [formKey]);

  const services = useAsync((signal) => getJSON<{ services: string[] }>('/api/v1/services', {}, signal), [tick]);
  const operations = useAsync(
    (signal) =>
      draft.service === ''
        ? Promise.resolve([] as string[])
        : getJSON<{ data: { name: string }[] | null }>('/jaeger/api/operations', { service: draft.service }, signal).then(
            (r) => [...new Set((r.data ?? []).map((o) => o.name))].sort(),
            () => [] as string[],
          ),
    [draft.service],
  );

  const results = useAsync(
    (signal) => getJSON<{ traces: TraceSummary[] | null }>('/api/v1/traces', apiParams(JSON.parse(formKey) as SearchForm, resolved), signal),
    [formKey, resolved.start, resolved.end, tick],
  );
  const badRequest = results.error instanceof ApiError && results.error.status === 400 ? results.error : undefined;
  const traces = useMemo(() => sortTraces(results.data?.traces ?? [], sort), [results.data, sort]);
  const shared = keepShared(window.location.search);
  const linkFor = (id: string) => href(`/traces/${encodeURIComponent(id)}`, shared);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const errs = validateForm(draft);
    setErrors(errs);
    if (Object.keys(errs).length > 0) return;
    const q = formToQuery(draft, new URLSearchParams(window.location.search)).toString();
    const to = `/traces${q === '' ? '' : `?${q}`}`;
    if (to === window.location.pathname + window.location.search) refresh();
    else navigate(to);
  };
  const set = (changes: Partial<SearchForm>) => setDraft((d) => ({ ...d, ...changes }));

  const serviceOptions = services.data?.services ?? [];
  const limitN = Number(urlForm.limit) || 50;

  return (
    <div>
      <h1>Traces</h1>
      <form className="ts-form panel" onSubmit={submit} role="search" aria-label="Trace search">
        <label>
          Service
          <select value={draft.service} onChange={(e) => set({ service: e.target.value, operation: '' })}>
            <option value="">All services</option>
            {draft.service !== '' && !serviceOptions.includes(draft.service) && <option value={draft.service}>{draft.service}</option>}
            {serviceOptions.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="ts-op">
          Operation
          <input
            value={draft.operation}
            onChange={(e) => set({ operation: e.target.value })}
            list="ts-operations"
            placeholder={draft.service === '' ? 'any (pick a service for a list)' : 'any'}
            autoComplete="off"
          />
          <datalist id="ts-operations">
            {(operations.data ?? []).map((o) => (
              <option key={o} value={o} />
            ))}
          </datalist>
        </label>
        <label className="ts-attrs">
          Attributes
          <input
            data-search
            value={draft.attrs}
            onChange={(e) => set({ attrs: e.target.value })}
            placeholder='http.response.status_code=500 note="two words"'
            aria-invalid={errors.attrs !== undefined}
            aria-describedby="ts-errors"
            autoComplete="off"
            spellCheck={false}
          />
        </label>
        <label>
          Status
          <select value={draft.status} onChange={(e) => set({ status: e.target.value as Status })}>
            <option value="">Any</option>
            <option value="error">Error</option>
            <option value="ok">No error</option>
          </select>
        </label>
        <label className="ts-dur">
          Min duration
          <input
            value={draft.minDuration}
            onChange={(e) => set({ minDuration: e.target.value })}
            placeholder="250ms"
            aria-invalid={errors.minDuration !== undefined}
            aria-describedby="ts-errors"
          />
        </label>
        <label className="ts-dur">
          Max duration
          <input
            value={draft.maxDuration}
            onChange={(e) => set({ maxDuration: e.target.value })}
            placeholder="1.5s"
            aria-invalid={errors.maxDuration !== undefined}
            aria-describedby="ts-errors"
          />
        </label>
        <label className="ts-limit">
          Limit
          <input
            value={draft.limit}
            onChange={(e) => set({ limit: e.target.value })}
            inputMode="numeric"
            aria-invalid={errors.limit !== undefined}
            aria-describedby="ts-errors"
          />
        </label>
        <button type="submit" className="btn primary">
          Search
        </button>
        <ul className="ts-errors" id="ts-errors" aria-live="polite">
          {Object.entries(errors).map(([k, v]) => (
            <li key={k} className="hint error">
              {v}
            </li>
          ))}
          {badRequest && (
            <li className="hint error" role="alert">
              The server refused this search: {badRequest.message.replace(/^400: /, '')}
            </li>
          )}
          {services.error && <li className="hint error">Could not load the service list: {services.error.message}</li>}
        </ul>
      </form>

      {results.loading && results.data === undefined ? (
        <Loading what="Searching traces" />
      ) : results.error && !badRequest ? (
        <ErrorBox error={results.error} what="traces" />
      ) : badRequest ? (
        <Empty>Fix the search above to see traces.</Empty>
      ) : traces.length === 0 ? (
        <Empty>No traces match this search in the time range. Widen the range or loosen the filters.</Empty>
      ) : (
        <>
          <Scatter traces={traces} linkFor={linkFor} />
          <div className="ts-summary">
            <strong>
              {traces.length} trace{traces.length === 1 ? '' : 's'}
            </strong>
            {traces.length >= limitN && <span className="hint">the newest {limitN} in the range; raise the limit or narrow the search for more</span>}
            {results.loading && <span className="hint">refreshing…</span>}
          </div>
          <ResultsTable traces={traces} sort={sort} linkFor={linkFor} />
        </>
      )}
    </div>
  );
}

function ResultsTable({ traces, sort, linkFor }: { traces: TraceSummary[]; sort: Sort; linkFor: (id: string) => string }) {
  const now = Date.now();
  const byTime = sort === 'newest' || sort === 'oldest';
  return (
    <table className="data traces">
      <thead>
        <tr>
          <th aria-sort={sort === 'newest' ? 'descending' : sort === 'oldest' ? 'ascending' : 'none'}>
            <button type="button" onClick={() => setQuery({ sort: sort === 'newest' ? 'oldest' : undefined }, true)} title="Sort by start time">
              Start {byTime ? (sort === 'newest' ? '↓' : '↑') : ''}
            </button>
          </th>
          <th>Trace</th>
          <th className="num" aria-sort={sort === 'slowest' ? 'descending' : sort === 'fastest' ? 'ascending' : 'none'}>
            <button type="button" onClick={() => setQuery({ sort: sort === 'slowest' ? 'fastest' : 'slowest' }, true)} title="Sort by duration">
              Duration {byTime ? '' : sort === 'slowest' ? '↓' : '↑'}
            </button>
          </th>
          <th className="num">Spans</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => (
          <tr key={t.trace_id} data-trace-id={t.trace_id} data-error={t.error ? 'true' : 'false'}>
            <td className="num" style={{ textAlign: 'left' }}>
              {formatTime(Date.parse(t.start), now)}
            </td>
            <td>
              <Link href={linkFor(t.trace_id)}>
                {t.root_service || '(unknown service)'}: {t.root_operation || '(unnamed)'}
              </Link>
              <span className="tid mono">{t.trace_id}</span>
            </td>
            <td className="num">{formatDuration(t.duration_ms)}</td>
            <td className="num">{t.span_count}</td>
            <td>{t.error ? <span className="badge err">error</span> : <span className="badge ok">ok</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
