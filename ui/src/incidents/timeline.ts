// Geometry of the incidents timeline: one bar per incident over the chosen range, as
// fractions of the range's width (the component turns them into percentages), so the
// layout is independent of pixels and testable.

export interface Range {
  start: number;
  end: number;
}

export interface Bar {
  /** Left edge in [0, 1]. */
  x: number;
  /** Width in (0, 1]; at least minWidth so an instantaneous incident stays visible. */
  width: number;
  /** The incident started before the range (the bar is cut at the left edge). */
  clippedStart: boolean;
  /** The incident ends after the range, or is ongoing past it (cut at the right edge). */
  clippedEnd: boolean;
  ongoing: boolean;
}

/**
 * barGeometry places an incident from startMs to endMs (null while ongoing: it runs to now)
 * on the range. It returns null when the incident does not overlap the range.
 */
export function barGeometry(startMs: number, endMs: number | null, now: number, range: Range, minWidth = 0.004): Bar | null {
  const span = range.end - range.start;
  if (!(span > 0) || !Number.isFinite(startMs)) return null;
  const ongoing = endMs === null;
  const stop = ongoing ? Math.max(now, startMs) : Math.max(endMs, startMs);
  if (stop < range.start || startMs > range.end) return null;
  const a = Math.max(startMs, range.start);
  const b = Math.min(stop, range.end);
  let x = (a - range.start) / span;
  let width = (b - a) / span;
  if (width < minWidth) {
    width = Math.min(minWidth, 1);
    if (x + width > 1) x = 1 - width;
  }
  return { x, width, clippedStart: startMs < range.start, clippedEnd: stop > range.end, ongoing };
}

/**
 * assignLanes stacks overlapping bars: each bar goes to the first lane whose last bar ends
 * before it starts (with gap, in range fractions). Bars are placed in order of x; the
 * answer is the lane of each input bar, in input order.
 */
export function assignLanes(bars: { x: number; width: number }[], gap = 0.005): number[] {
  const order = bars.map((_, i) => i).sort((i, j) => bars[i].x - bars[j].x || i - j);
  const laneEnds: number[] = [];
  const lanes = new Array<number>(bars.length).fill(0);
  for (const i of order) {
    const b = bars[i];
    let lane = laneEnds.findIndex((end) => end + gap <= b.x);
    if (lane === -1) {
      lane = laneEnds.length;
      laneEnds.push(0);
    }
    laneEnds[lane] = b.x + b.width;
    lanes[i] = lane;
  }
  return lanes;
}

const tickSteps = [
  1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000, 172_800_000, 604_800_000,
];

/**
 * ticks picks about `target` readable instants inside the range, aligned to the viewer's zone
 * (offsetMin is Date#getTimezoneOffset, minutes behind UTC). Each tick has its x fraction.
 */
export function ticks(range: Range, target = 6, offsetMin = 0): { t: number; x: number }[] {
  const span = range.end - range.start;
  if (!(span > 0)) return [];
  const raw = span / target;
  const stepMs = tickSteps.find((s) => s >= raw) ?? tickSteps[tickSteps.length - 1];
  const shift = -offsetMin * 60_000; // local = utc + shift
  const first = Math.ceil((range.start + shift) / stepMs) * stepMs - shift;
  const out: { t: number; x: number }[] = [];
  for (let t = first; t <= range.end; t += stepMs) out.push({ t, x: (t - range.start) / span });
  return out;
}

export type LabelSide = 'inside' | 'right' | 'left';

/**
 * labelPlacement puts a bar's label inside it when it fits (labelFrac: the label's width as a
 * fraction of the timeline), else to its right, or to its left near the right edge. extent is
 * the span bar and label take together, for assignLanes.
 */
export function labelPlacement(bar: { x: number; width: number }, labelFrac: number): { side: LabelSide; extent: { x: number; width: number } } {
  if (bar.width >= labelFrac) return { side: 'inside', extent: { x: bar.x, width: bar.width } };
  if (bar.x + bar.width + labelFrac <= 1) return { side: 'right', extent: { x: bar.x, width: bar.width + labelFrac } };
  const x = Math.max(0, bar.x - labelFrac);
  return { side: 'left', extent: { x, width: bar.x + bar.width - x } };
}
