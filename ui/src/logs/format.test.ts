import { describe, expect, it } from 'vitest';
import { attributeEntries, isLongBody, logTime } from './format';

describe('log formatting', () => {
  it('keeps milliseconds', () => {
    const t = '2026-11-22T12:30:12.84179174Z';
    expect(logTime(t, Date.parse(t))).toMatch(/12\.841$/);
    expect(logTime('nope')).toBe('nope');
  });

  it('lists attributes sorted, non-strings as JSON', () => {
    expect(attributeEntries({ b: 1, a: 'x', c: { d: [1] }, e: true })).toEqual([
      ['a', 'x'],
      ['b', '1'],
      ['c', '{"d":[1]}'],
      ['e', 'true'],
    ]);
    expect(attributeEntries(undefined)).toEqual([]);
  });

  it('collapses long or many-line bodies', () => {
    expect(isLongBody('short')).toBe(false);
    expect(isLongBody('a\nb\nc\nd\ne\nf')).toBe(false);
    expect(isLongBody('a\nb\nc\nd\ne\nf\ng')).toBe(true);
    expect(isLongBody('x'.repeat(601))).toBe(true);
  });
});
