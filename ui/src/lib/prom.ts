// PromQL over /prometheus/api/v1: the TSDB holds the span-derived RED series and the agents'
// host metrics.
import { getJSON } from './api';

export interface PromSeries {
  metric: Record<string, string>;
  /** [unix seconds, value] pairs; NaN where the server sent "NaN". */
  values: [number, number][];
}

interface PromAnswer<T> {
  status: string;
  data: T;
  error?: string;
}

interface MatrixData {
  resultType: 'matrix';
  result: { metric: Record<string, string>; values: [number, string][] }[];
}

interface VectorData {
  resultType: 'vector';
  result: { metric: Record<string, string>; value: [number, string] }[];
}

export async function queryRange(expr: string, startMs: number, endMs: number, stepSec: number, signal?: AbortSignal): Promise<PromSeries[]> {
  const a = await getJSON<PromAnswer<MatrixData>>(
    '/prometheus/api/v1/query_range',
    { query: expr, start: startMs / 1000, end: endMs / 1000, step: stepSec },
    signal,
  );
  return a.data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export async function queryInstant(expr: string, timeMs: number, signal?: AbortSignal): Promise<PromSample[]> {
  const a = await getJSON<PromAnswer<VectorData>>('/prometheus/api/v1/query', { query: expr, time: timeMs / 1000 }, signal);
  return a.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** quote makes a PromQL string literal of any value (service names come from users). */
export function quote(s: string): string {
  return JSON.stringify(s);
}
