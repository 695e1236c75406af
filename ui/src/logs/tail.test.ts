import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../types';
import { mergeTail, newestTime, newRecords, sortNewestFirst, timeKey } from './tail';

const rec = (time: string, body = 'b', service = 's'): LogRecord => ({ time, service, host: 'h', severity: 'INFO', severity_number: 9, body });

describe('timeKey', () => {
  it('orders nanosecond times that strings and Date would get wrong', () => {
    expect('2026-11-22T12:30:12.8Z' > '2026-11-22T12:30:12.84Z').toBe(true); // the raw strings misorder
    expect(timeKey('2026-11-22T12:30:12.84Z') > timeKey('2026-11-22T12:30:12.8Z')).toBe(true);
    expect(timeKey('2026-11-22T12:30:12.000000002Z') > timeKey('2026-11-22T12:30:12.000000001Z')).toBe(true);
    expect(timeKey('2026-11-22T12:30:12Z')).toBe(timeKey('2026-11-22T12:30:12.000Z'));
    expect(timeKey('2026-11-22T13:30:12+01:00')).toBe(timeKey('2026-11-22T12:30:12Z'));
    expect(timeKey('garbage') < timeKey('1970-01-01T00:00:00Z')).toBe(true);
  });
});

describe('newRecords', () => {
  const shown = [rec('2026-11-22T12:00:05.000000001Z', 'x'), rec('2026-11-22T12:00:05.000000001Z', 'x'), rec('2026-11-22T12:00:05.000000001Z', 'y'), rec('2026-11-22T12:00:04Z')];

  it('drops the records at the boundary already shown, as many times as shown', () => {
    const incoming = [
      rec('2026-11-22T12:00:06Z', 'new'),
      rec('2026-11-22T12:00:05.000000001Z', 'x'),
      rec('2026-11-22T12:00:05.000000001Z', 'x'),
      rec('2026-11-22T12:00:05.000000001Z', 'x'),
      rec('2026-11-22T12:00:05.000000001Z', 'y'),
      rec('2026-11-22T12:00:05.000000001Z', 'z'),
    ];
    expect(newRecords(shown, incoming).map((r) => r.body)).toEqual(['new', 'x', 'z']);
  });

  it('drops records older than the boundary and sorts newest first', () => {
    const incoming = [rec('2026-11-22T12:00:01Z', 'old'), rec('2026-11-22T12:00:07Z', 'b'), rec('2026-11-22T12:00:09Z', 'a')];
    expect(newRecords(shown, incoming).map((r) => r.body)).toEqual(['a', 'b']);
  });

  it('takes everything when nothing is shown', () => {
    expect(newRecords([], [rec('2026-11-22T12:00:01Z', '1'), rec('2026-11-22T12:00:02Z', '2')]).map((r) => r.body)).toEqual(['2', '1']);
  });
});

describe('mergeTail', () => {
  it('prepends and caps, dropping the oldest', () => {
    const shown = [rec('2026-11-22T12:00:03Z', '3'), rec('2026-11-22T12:00:02Z', '2'), rec('2026-11-22T12:00:01Z', '1')];
    const got = mergeTail(shown, [rec('2026-11-22T12:00:05Z', '5'), rec('2026-11-22T12:00:04Z', '4')], 4);
    expect(got.map((r) => r.body)).toEqual(['5', '4', '3', '2']);
  });

  it('keeps the same array when nothing is new and under the cap', () => {
    const shown = [rec('2026-11-22T12:00:03Z')];
    expect(mergeTail(shown, [], 10)).toBe(shown);
    expect(mergeTail([rec('a'), rec('b')], [], 1)).toHaveLength(1);
  });
});

describe('helpers', () => {
  it('finds the newest time of shown and pending records', () => {
    expect(newestTime([rec('2026-11-22T12:00:03Z')], [rec('2026-11-22T12:00:04.5Z')])).toBe('2026-11-22T12:00:04.5Z');
    expect(newestTime([rec('2026-11-22T12:00:03Z')], [])).toBe('2026-11-22T12:00:03Z');
    expect(newestTime([], [])).toBeNull();
  });

  it('sorts stably', () => {
    const rs = [rec('2026-11-22T12:00:01Z', 'a'), rec('2026-11-22T12:00:02Z', 'b'), rec('2026-11-22T12:00:01Z', 'c')];
    expect(sortNewestFirst(rs).map((r) => r.body)).toEqual(['b', 'a', 'c']);
  });
});
