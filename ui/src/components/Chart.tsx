import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue, type Unit } from '../lib/format';
import type { PromSeries } from '../lib/prom';
import { Empty } from './State';

export interface ChartSeries {
  label: string;
  /** [unix seconds, value] pairs. */
  values: [number, number][];
  color?: string;
}

const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** align merges series sampled at possibly different instants onto one time axis (gaps = null). */
export function align(series: ChartSeries[]): uPlot.AlignedData {
  const times = new Set<number>();
  for (const s of series) for (const [t] of s.values) times.add(t);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    for (const [t, v] of s.values) col[index.get(t)!] = Number.isFinite(v) ? v : null;
    return col;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

/** fromProm labels PromQL series by the given label (or all labels). */
export function fromProm(series: PromSeries[], label?: (m: Record<string, string>) => string): ChartSeries[] {
  return series.map((s) => ({
    label: label ? label(s.metric) : Object.entries(s.metric).map(([k, v]) => `${k}=${v}`).join(', ') || 'value',
    values: s.values,
  }));
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

export function Chart({ title, series, unit = '', height = 180, stacked = false }: { title: string; series: ChartSeries[]; unit?: Unit; height?: number; stacked?: boolean }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = document.documentElement.dataset.theme;
  useEffect(() => {
    const node = el.current;
    if (!node || series.length === 0) return;
    const axis = cssVar('--muted', '#666');
    const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
    const opts: uPlot.Options = {
      width: Math.max(node.clientWidth, 200),
      height,
      legend: { show: series.length <= 12 },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] } },
      axes: [
        { stroke: axis, grid: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, size: 64, values: (_u, vals) => vals.map((v) => formatValue(v, unit)) },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? palette[i % palette.length],
          width: 1.5,
          fill: stacked ? (s.color ?? palette[i % palette.length]) + '33' : undefined,
          value: (_u: uPlot, v: number | null) => formatValue(v, unit),
          spanGaps: false,
        })),
      ],
    };
    const p = new uPlot(opts, align(series), node);
    plot.current = p;
    const ro = new ResizeObserver(() => p.setSize({ width: Math.max(node.clientWidth, 200), height }));
    ro.observe(node);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [series, unit, height, stacked, theme]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {series.length === 0 ? <Empty>No data in this range.</Empty> : <div ref={el} className="chart-body" />}
    </figure>
  );
}
