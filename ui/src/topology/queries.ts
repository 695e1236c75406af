// The service panel's PromQL over the span-derived RED series (internal/metricstore/names.go).
// A service that sends spans has its own series (faultline_service_*{service, operation,
// span_kind}); a database, a cache or an external API is only seen through its callers' spans,
// so its figures are those of the edges into it (faultline_edge_*{caller, callee}).
import { quote } from '../lib/prom';

export interface RedQueries {
  /** Range queries: requests/s, error ratio, latency quantiles (seconds). */
  rate: string;
  errorRate: string;
  latency: { label: string; expr: string }[];
  /** Instant queries over the whole range, by operation (or by caller for a dependency). */
  errorsBy: string;
  requestsBy: string;
  slowest: string;
  /** The label the instant queries group by. */
  by: 'operation' | 'caller';
}

/** How many rows the operation tables show. */
export const tableRows = 10;

export function redQueries(service: string, kind: string, window: string, rangeSec: number): RedQueries {
  const instrumented = kind === 'service';
  const m = instrumented
    ? { req: 'faultline_service_requests_total', err: 'faultline_service_errors_total', dur: 'faultline_service_duration_seconds', sel: `service=${quote(service)}`, by: 'operation' as const }
    : { req: 'faultline_edge_requests_total', err: 'faultline_edge_errors_total', dur: 'faultline_edge_duration_seconds', sel: `callee=${quote(service)}`, by: 'caller' as const };
  const req = `sum(rate(${m.req}{${m.sel}}[${window}]))`;
  const r = `${Math.max(60, Math.round(rangeSec))}s`;
  return {
    rate: req,
    // An absent error series (no error yet) is 0, not a gap.
    errorRate: `(sum(rate(${m.err}{${m.sel}}[${window}])) or vector(0)) / ${req}`,
    latency: [0.5, 0.95, 0.99].map((p) => ({
      label: `p${Math.round(p * 100)}`,
      expr: `histogram_quantile(${p}, sum by (le) (rate(${m.dur}_bucket{${m.sel}}[${window}])))`,
    })),
    errorsBy: `sum by (${m.by}) (increase(${m.err}{${m.sel}}[${r}])) > 0`,
    requestsBy: `sum by (${m.by}) (increase(${m.req}{${m.sel}}[${r}]))`,
    slowest: `topk(${tableRows}, histogram_quantile(0.99, sum by (${m.by}, le) (rate(${m.dur}_bucket{${m.sel}}[${r}]))))`,
    by: m.by,
  };
}

export interface OperationRow {
  operation: string;
  value: number;
  /** Errors over requests, for the top errors. */
  rate?: number;
}

type Sample = { metric: Record<string, string>; value: number };

/**
 * errorRows are the operations with errors, highest error rate first (then most errors), with
 * the rate from the requests in the same window. increase() extrapolates, so a rate is capped
 * at 100%.
 */
export function errorRows(errors: Sample[], requests: Sample[], by = 'operation', n = tableRows): OperationRow[] {
  const req = new Map(requests.map((s) => [s.metric[by] ?? '', s.value]));
  return errors
    .filter((s) => Number.isFinite(s.value) && s.value > 0)
    .map((s) => {
      const op = s.metric[by] ?? '';
      const total = req.get(op) ?? 0;
      return { operation: op, value: s.value, rate: total > 0 ? Math.min(1, s.value / total) : undefined };
    })
    .sort((a, b) => (b.rate ?? 0) - (a.rate ?? 0) || b.value - a.value || a.operation.localeCompare(b.operation))
    .slice(0, n);
}

/** slowRows orders operations by p99, slowest first, dropping NaN (no traffic). */
export function slowRows(samples: Sample[], by = 'operation', n = tableRows): OperationRow[] {
  return samples
    .filter((s) => Number.isFinite(s.value))
    .map((s) => ({ operation: s.metric[by] ?? '', value: s.value }))
    .sort((a, b) => b.value - a.value || a.operation.localeCompare(b.operation))
    .slice(0, n);
}
