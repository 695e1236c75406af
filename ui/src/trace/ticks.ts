// Axis ticks: offsets within a trace (0, 20ms, 40ms…), durations on the scatter's y axis, and
// wall-clock times on its x axis.

/** niceStep is the 1-2-5 step that splits span into at most about maxTicks intervals. */
export function niceStep(span: number, maxTicks: number): number {
  if (!(span > 0) || !(maxTicks >= 1)) return 1;
  const raw = span / maxTicks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    if (m * mag >= raw * (1 - 1e-9)) return m * mag;
  }
  return 10 * mag;
}

/** linearTicks are the multiples of a nice step from min to max (inclusive, within rounding). */
export function linearTicks(min: number, max: number, maxTicks: number): { step: number; ticks: number[] } {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return { step: 1, ticks: [Number.isFinite(min) ? min : 0] };
  const step = niceStep(max - min, maxTicks);
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  for (let k = first; k * step <= max + step * 1e-9 && ticks.length < 1000; k++) {
    // Round away floating noise (0.30000000000000004).
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return { step, ticks };
}

/**
 * formatOffset labels a millisecond offset on an axis reaching max: the unit (µs, ms or s)
 * follows max, the decimals follow the step.
 */
export function formatOffset(ms: number, step: number, max = ms): string {
  if (ms === 0) return '0';
  if (max < 1) return `${trim(ms * 1000, decimals(step * 1000))}µs`;
  if (max < 1000) return `${trim(ms, decimals(step))}ms`;
  return `${trim(ms / 1000, decimals(step / 1000))}s`;
}

function decimals(step: number): number {
  if (step >= 1) return 0;
  return Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
}

function trim(v: number, d: number): string {
  return v.toFixed(d);
}

export interface Tick {
  value: number;
  label: string;
}

/** offsetTicks are the time-axis ticks of a trace duration (ms), labelled as offsets. */
export function offsetTicks(durationMs: number, maxTicks: number): Tick[] {
  const { step, ticks } = linearTicks(0, durationMs > 0 ? durationMs : 1, maxTicks);
  const max = ticks[ticks.length - 1];
  return ticks.map((v) => ({ value: v, label: formatOffset(v, step, max) }));
}

const wallSteps = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000,
];

/**
 * wallTicks are clock times between start and end (epoch ms) at a readable step (1 s … 1 day),
 * aligned to the step in the given zone offset (minutes east of UTC, as -Date#getTimezoneOffset).
 */
export function wallTicks(start: number, end: number, maxTicks: number, tzOffsetMin = 0): { step: number; ticks: number[] } {
  if (!(end > start) || !(maxTicks >= 1)) return { step: wallSteps[0], ticks: [] };
  const raw = (end - start) / maxTicks;
  let step = wallSteps[wallSteps.length - 1];
  for (const s of wallSteps) {
    if (s >= raw) {
      step = s;
      break;
    }
  }
  if (step < raw) step = Math.ceil(raw / 86_400_000) * 86_400_000;
  const off = tzOffsetMin * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil((start + off) / step) * step - off; t <= end && ticks.length < 1000; t += step) ticks.push(t);
  return { step, ticks };
}

/** formatWall labels a clock tick: seconds only when the step needs them, the date for day steps. */
export function formatWall(t: number, step: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  if (step >= 86_400_000) return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  return step < 60_000 ? `${hm}:${p(d.getSeconds())}` : hm;
}
