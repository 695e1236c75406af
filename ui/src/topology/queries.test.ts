import { describe, expect, it } from 'vitest';
import { errorRows, redQueries, slowRows } from './queries';

describe('redQueries', () => {
  it("uses the service's own series, quoting its name", () => {
    const q = redQueries('we"ird', 'service', '60s', 900);
    expect(q.rate).toBe('sum(rate(faultline_service_requests_total{service="we\\"ird"}[60s]))');
    expect(q.errorRate).toBe(
      '(sum(rate(faultline_service_errors_total{service="we\\"ird"}[60s])) or vector(0)) / sum(rate(faultline_service_requests_total{service="we\\"ird"}[60s]))',
    );
    expect(q.latency.map((l) => l.label)).toEqual(['p50', 'p95', 'p99']);
    expect(q.latency[2].expr).toBe('histogram_quantile(0.99, sum by (le) (rate(faultline_service_duration_seconds_bucket{service="we\\"ird"}[60s])))');
    expect(q.by).toBe('operation');
    expect(q.errorsBy).toBe('sum by (operation) (increase(faultline_service_errors_total{service="we\\"ird"}[900s])) > 0');
    expect(q.requestsBy).toBe('sum by (operation) (increase(faultline_service_requests_total{service="we\\"ird"}[900s]))');
    expect(q.slowest).toBe('topk(10, histogram_quantile(0.99, sum by (operation, le) (rate(faultline_service_duration_seconds_bucket{service="we\\"ird"}[900s]))))');
  });
  it('reads a database through the edges into it, by caller', () => {
    const q = redQueries('postgres', 'database', '120s', 30);
    expect(q.rate).toBe('sum(rate(faultline_edge_requests_total{callee="postgres"}[120s]))');
    expect(q.by).toBe('caller');
    // Never a window under a minute (rate() needs two samples).
    expect(q.errorsBy).toBe('sum by (caller) (increase(faultline_edge_errors_total{callee="postgres"}[60s])) > 0');
  });
});

describe('operation rows', () => {
  it('orders by error rate, then errors, capped at 100%', () => {
    const rows = errorRows(
      [
        { metric: { operation: 'GET /a' }, value: 50 },
        { metric: { operation: 'POST /b' }, value: 6 },
        { metric: { operation: 'GET /c' }, value: 0 },
        { metric: { operation: 'GET /d' }, value: 12.4 },
        { metric: { operation: 'GET /e' }, value: 3 },
      ],
      [
        { metric: { operation: 'GET /a' }, value: 1000 },
        { metric: { operation: 'POST /b' }, value: 6 },
        { metric: { operation: 'GET /d' }, value: 12 },
      ],
    );
    expect(rows.map((r) => r.operation)).toEqual(['GET /d', 'POST /b', 'GET /a', 'GET /e']);
    expect(rows[0].rate).toBe(1);
    expect(rows[2].rate).toBeCloseTo(0.05);
    expect(rows[3].rate).toBeUndefined();
  });
  it('groups by another label and keeps the first n', () => {
    const errs = Array.from({ length: 15 }, (_, i) => ({ metric: { caller: `c${i}` }, value: i + 1 }));
    const reqs = errs.map((e) => ({ metric: e.metric, value: 100 }));
    const rows = errorRows(errs, reqs, 'caller', 3);
    expect(rows.map((r) => r.operation)).toEqual(['c14', 'c13', 'c12']);
  });
  it('orders the slowest by p99 and drops NaN', () => {
    const rows = slowRows([
      { metric: { operation: 'a' }, value: 0.1 },
      { metric: { operation: 'b' }, value: Number.NaN },
      { metric: { operation: 'c' }, value: 2 },
    ]);
    expect(rows.map((r) => r.operation)).toEqual(['c', 'a']);
  });
});
