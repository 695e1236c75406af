// Hand-built spans for the tests: times in milliseconds from a fixed epoch.
import type { Span } from '../types';

const base = 1_795_350_612_000; // epoch ms

export function span(id: string, parent: string, startMs: number, endMs: number, extra: Partial<Span> = {}): Span {
  return {
    span_id: id,
    parent_span_id: parent,
    service: 'svc',
    name: `op ${id}`,
    kind: 'internal',
    start_unix_nano: (base + startMs) * 1e6,
    end_unix_nano: (base + endMs) * 1e6,
    duration_ms: endMs - startMs,
    status: { code: 'unset' },
    attributes: {},
    events: [],
    ...extra,
  };
}

/** bigTrace is a deterministic mix of deep chains and wide fan-outs with n spans. */
export function bigTrace(n: number, services = 20): Span[] {
  const spans: Span[] = [span('s0', '', 0, 10_000)];
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const bounds = [[0, 10_000]];
  for (let i = 1; i < n; i++) {
    // Mostly attach near the end (deep chains), sometimes anywhere (wide fan-out).
    const p = rnd() < 0.6 ? Math.max(0, i - 1 - Math.floor(rnd() * 3)) : Math.floor(rnd() * i);
    const [ps, pe] = bounds[p];
    const s = ps + rnd() * (pe - ps) * 0.5;
    const e = s + rnd() * (pe - s);
    bounds.push([s, e]);
    spans.push(span(`s${i}`, `s${p}`, s, e, { service: `service-${i % services}`, status: { code: rnd() < 0.02 ? 'error' : 'unset' } }));
  }
  return spans;
}
