import { describe, expect, it } from 'vitest';
import { assignLanes, barGeometry, labelPlacement, ticks } from './timeline';

const range = { start: 1000, end: 2000 };

describe('barGeometry', () => {
  it('places an ended incident inside the range', () => {
    const b = barGeometry(1200, 1500, 5000, range)!;
    expect(b.x).toBeCloseTo(0.2);
    expect(b.width).toBeCloseTo(0.3);
    expect(b).toMatchObject({ clippedStart: false, clippedEnd: false, ongoing: false });
  });

  it('runs an ongoing incident to now', () => {
    const b = barGeometry(1500, null, 1800, range)!;
    expect(b.x).toBeCloseTo(0.5);
    expect(b.width).toBeCloseTo(0.3);
    expect(b.ongoing).toBe(true);
    expect(b.clippedEnd).toBe(false);
  });

  it('clips an ongoing incident at the range end when now is later', () => {
    const b = barGeometry(1500, null, 9000, range)!;
    expect(b.x + b.width).toBeCloseTo(1);
    expect(b.clippedEnd).toBe(true);
  });

  it('clips at the left edge', () => {
    const b = barGeometry(500, 1100, 5000, range)!;
    expect(b.x).toBe(0);
    expect(b.width).toBeCloseTo(0.1);
    expect(b.clippedStart).toBe(true);
  });

  it('leaves out incidents outside the range', () => {
    expect(barGeometry(100, 900, 5000, range)).toBeNull();
    expect(barGeometry(2100, 2200, 5000, range)).toBeNull();
    expect(barGeometry(2100, null, 5000, range)).toBeNull();
  });

  it('gives an instantaneous incident a minimum width, kept inside the range', () => {
    const b = barGeometry(2000, 2000, 5000, range, 0.01)!;
    expect(b.width).toBeCloseTo(0.01);
    expect(b.x).toBeCloseTo(0.99);
  });

  it('refuses an empty range', () => {
    expect(barGeometry(1, 2, 3, { start: 5, end: 5 })).toBeNull();
  });
});

describe('assignLanes', () => {
  it('stacks overlapping bars and reuses free lanes', () => {
    const lanes = assignLanes([
      { x: 0.5, width: 0.1 },
      { x: 0, width: 0.3 },
      { x: 0.1, width: 0.1 },
      { x: 0.35, width: 0.1 },
    ]);
    expect(lanes).toEqual([0, 0, 1, 0]);
  });
});

describe('ticks', () => {
  it('aligns ticks to round minutes inside the range', () => {
    const start = Date.UTC(2026, 0, 1, 10, 0, 30);
    const end = start + 3_600_000;
    const ts = ticks({ start, end }, 6, 0);
    expect(ts.length).toBeGreaterThanOrEqual(4);
    for (const t of ts) {
      expect(t.t % 600_000).toBe(0);
      expect(t.x).toBeGreaterThanOrEqual(0);
      expect(t.x).toBeLessThanOrEqual(1);
    }
  });

  it('aligns to the local zone', () => {
    const start = Date.UTC(2026, 0, 1, 0, 0, 0);
    // UTC+5:30 (offset -330): local hours start at xx:30 UTC.
    const ts = ticks({ start, end: start + 6 * 3_600_000 }, 6, -330);
    expect((ts[0].t + 330 * 60_000) % 3_600_000).toBe(0);
  });
});

describe('labelPlacement', () => {
  it('keeps a label inside a wide bar', () => {
    expect(labelPlacement({ x: 0.1, width: 0.3 }, 0.1)).toEqual({ side: 'inside', extent: { x: 0.1, width: 0.3 } });
  });

  it('puts it to the right of a narrow bar, counting it in the extent', () => {
    const p = labelPlacement({ x: 0.1, width: 0.01 }, 0.1);
    expect(p.side).toBe('right');
    expect(p.extent.width).toBeCloseTo(0.11);
  });

  it('puts it to the left near the right edge', () => {
    const p = labelPlacement({ x: 0.95, width: 0.02 }, 0.1);
    expect(p.side).toBe('left');
    expect(p.extent.x).toBeCloseTo(0.85);
    expect(p.extent.width).toBeCloseTo(0.12);
  });
});
