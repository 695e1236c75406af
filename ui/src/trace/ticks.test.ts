import { describe, expect, it } from 'vitest';
import { formatOffset, formatWall, linearTicks, niceStep, offsetTicks, wallTicks } from './ticks';
import { assignServiceColors, attrEntries, fnv1a, paletteSize, serviceColor, serviceColorIndex } from './colors';

describe('niceStep', () => {
  it('picks 1-2-5 steps', () => {
    expect(niceStep(100, 5)).toBe(20);
    expect(niceStep(100, 10)).toBe(10);
    expect(niceStep(7.3, 6)).toBe(2);
    expect(niceStep(0.9, 4)).toBeCloseTo(0.5, 12);
    expect(niceStep(1234, 6)).toBe(500);
    expect(niceStep(0, 5)).toBe(1);
  });
});

describe('linearTicks', () => {
  it('covers the range with multiples of the step', () => {
    expect(linearTicks(0, 100, 5)).toEqual({ step: 20, ticks: [0, 20, 40, 60, 80, 100] });
    expect(linearTicks(3, 17, 3).ticks).toEqual([5, 10, 15]);
    expect(linearTicks(0, 0.3, 3).ticks).toEqual([0, 0.1, 0.2, 0.3]);
  });
  it('handles empty or invalid ranges', () => {
    expect(linearTicks(5, 5, 4).ticks).toEqual([5]);
    expect(linearTicks(NaN, 1, 4).ticks).toEqual([0]);
  });
});

describe('offset labels', () => {
  it('uses the unit and decimals the step needs', () => {
    expect(offsetTicks(100, 5).map((t) => t.label)).toEqual(['0', '20ms', '40ms', '60ms', '80ms', '100ms']);
    expect(offsetTicks(0.5, 5).map((t) => t.label)).toEqual(['0', '100µs', '200µs', '300µs', '400µs', '500µs']);
    expect(offsetTicks(3000, 6).map((t) => t.label)).toEqual(['0', '0.5s', '1.0s', '1.5s', '2.0s', '2.5s', '3.0s']);
    expect(offsetTicks(2.5, 5).map((t) => t.label)).toEqual(['0', '0.5ms', '1.0ms', '1.5ms', '2.0ms', '2.5ms']);
    expect(offsetTicks(12_000, 6).map((t) => t.label)).toEqual(['0', '2s', '4s', '6s', '8s', '10s', '12s']);
    expect(formatOffset(2.5, 0.5)).toBe('2.5ms');
    expect(formatOffset(1500, 500, 3000)).toBe('1.5s');
    expect(formatOffset(2000, 1000, 3000)).toBe('2s');
    expect(formatOffset(0.0015, 0.0005)).toBe('1.5µs');
  });
  it('still gives a tick for a zero-length trace', () => {
    expect(offsetTicks(0, 5)[0]).toEqual({ value: 0, label: '0' });
  });
});

describe('wall-clock ticks', () => {
  it('aligns to round clock times', () => {
    const start = Date.UTC(2026, 0, 1, 10, 0, 7);
    const end = start + 15 * 60_000;
    const { step, ticks } = wallTicks(start, end, 6, 0);
    expect(step).toBe(300_000);
    expect(ticks.map((t) => new Date(t).toISOString().slice(11, 19))).toEqual(['10:05:00', '10:10:00', '10:15:00']);
  });
  it('aligns in the viewer zone (half-hour offsets too)', () => {
    const start = Date.UTC(2026, 0, 1, 0, 0, 0);
    const { ticks } = wallTicks(start, start + 4 * 3_600_000, 4, 330); // UTC+5:30
    // 1 h steps land on local whole hours: UTC xx:30.
    expect(new Date(ticks[0]).toISOString().slice(11, 16)).toBe('00:30');
  });
  it('uses seconds when the step is below a minute', () => {
    const t = new Date(2026, 0, 1, 9, 5, 30).getTime();
    expect(formatWall(t, 10_000)).toBe('09:05:30');
    expect(formatWall(t, 60_000)).toBe('09:05');
    expect(formatWall(t, 86_400_000)).toBe('2026-01-01');
  });
  it('returns nothing for an empty range', () => {
    expect(wallTicks(10, 10, 5).ticks).toEqual([]);
  });
});

describe('service colours', () => {
  it('are stable and spread', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(serviceColorIndex('payment')).toBe(serviceColorIndex('payment'));
    const used = new Set(Array.from({ length: 40 }, (_, i) => serviceColorIndex(`service-${i}`)));
    expect(used.size).toBeGreaterThan(8);
  });
  it('stay apart within a trace, and keep the hash colour when it is free', () => {
    const names = Array.from({ length: paletteSize }, (_, i) => `svc-${i}`);
    const m = assignServiceColors(names);
    expect(new Set(m.values()).size).toBe(paletteSize);
    // The first service in name order always keeps its own colour.
    expect(m.get('svc-0')).toBe(serviceColor('svc-0'));
    // More services than colours: every one still gets a colour.
    const many = assignServiceColors(Array.from({ length: 30 }, (_, i) => `s${i}`));
    expect(many.size).toBe(30);
    for (const v of many.values()) expect(v).toMatch(/^var\(--svc-\d+\)$/);
  });
  it('render attribute values as text, sorted by key', () => {
    expect(attrEntries({ b: 1, a: '<b>x</b>', c: { d: [1, true] } })).toEqual([
      ['a', '<b>x</b>'],
      ['b', '1'],
      ['c', '{"d":[1,true]}'],
    ]);
    expect(attrEntries(null)).toEqual([]);
  });
});
