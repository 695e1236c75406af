// Number formatting for charts, tables and tooltips.
import { formatDuration } from './time';

export type Unit = '' | 'ratio' | 'percent' | 'ms' | 's' | 'rps' | 'bytes' | 'Bps';

export function formatValue(v: number | null | undefined, unit: Unit): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'ratio':
      return `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
    case 'percent':
      return `${v.toFixed(1)}%`;
    case 'ms':
      return formatDuration(v);
    case 's':
      return formatDuration(v * 1000);
    case 'rps':
      return `${short(v)}/s`;
    case 'bytes':
      return bytes(v);
    case 'Bps':
      return `${bytes(v)}/s`;
    default:
      return short(v);
  }
}

export function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, '');
  if (a === 0) return '0';
  return v.toPrecision(2);
}

export function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let i = 0;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
