import { describe, expect, it } from 'vitest';
import { apiParams, checkDuration, emptyForm, formFromQuery, formToQuery, formatAttrs, parseAttrs, sortFromQuery, sortTraces, validateForm } from './search';
import type { TraceSummary } from '../types';

describe('form <-> URL', () => {
  it('reads every field, repeated attr included', () => {
    const q = new URLSearchParams('service=cart&operation=GET+%2Fcart&attr=http.method%3DGET&attr=note%3Da+b&status=error&minDuration=250ms&maxDuration=2s&limit=7&from=now-15m');
    expect(formFromQuery(q)).toEqual({
      service: 'cart',
      operation: 'GET /cart',
      attrs: 'http.method=GET note="a b"',
      status: 'error',
      minDuration: '250ms',
      maxDuration: '2s',
      limit: '7',
    });
  });

  it('defaults: any status, limit 50; an unknown status reads as any', () => {
    expect(formFromQuery(new URLSearchParams(''))).toEqual(emptyForm);
    expect(formFromQuery(new URLSearchParams('status=bogus')).status).toBe('');
  });

  it('writes the form, keeps the time range, leaves out empty fields and the default limit', () => {
    const q = formToQuery(
      { ...emptyForm, service: 'cart', attrs: 'a=1  b="x y"', status: 'ok', minDuration: ' 1.5s ' },
      new URLSearchParams('from=now-15m&refresh=10s&service=old&attr=z=9&limit=10'),
    );
    expect(q.get('from')).toBe('now-15m');
    expect(q.get('refresh')).toBe('10s');
    expect(q.get('service')).toBe('cart');
    expect(q.getAll('attr')).toEqual(['a=1', 'b=x y']);
    expect(q.get('status')).toBe('ok');
    expect(q.get('minDuration')).toBe('1.5s');
    expect(q.has('limit')).toBe(false);
    expect(q.has('operation')).toBe(false);
    expect(q.has('maxDuration')).toBe(false);
  });

  it('round-trips', () => {
    const f = { service: 's', operation: 'POST /x', attrs: 'k=v q="a \\"b\\""', status: 'error' as const, minDuration: '1ms', maxDuration: '3s', limit: '200' };
    const back = formFromQuery(formToQuery(f));
    expect(back).toEqual(f);
    expect(formToQuery(f).getAll('attr')).toEqual(['k=v', 'q=a "b"']);
  });
});

describe('attributes', () => {
  it('splits on spaces, honours quotes and escapes', () => {
    expect(parseAttrs(' a=1   b=2 ').tokens).toEqual(['a=1', 'b=2']);
    expect(parseAttrs('note="hello world" k="a\\"b"').tokens).toEqual(['note=hello world', 'k=a"b']);
    expect(parseAttrs('"x y=z"').tokens).toEqual(['x y=z']);
    expect(parseAttrs('').tokens).toEqual([]);
  });
  it('refuses what the server refuses', () => {
    expect(parseAttrs('novalue').error).toMatch(/key=value/);
    expect(parseAttrs('=v').error).toMatch(/non-empty key/);
    expect(parseAttrs('k=a k=b').error).toMatch(/twice/);
    expect(parseAttrs('k="open').error).toMatch(/quote/);
    // The same pair twice is one filter.
    expect(parseAttrs('k=a k=a')).toEqual({ tokens: ['k=a'] });
    expect(parseAttrs('k=').tokens).toEqual(['k=']);
  });
  it('formats tokens back so they parse the same', () => {
    const tokens = ['a=1', 'b=two words', 'c=quo"te', 'd=back\\slash', 'sp ace=v'];
    expect(parseAttrs(formatAttrs(tokens)).tokens).toEqual(tokens);
  });
});

describe('durations', () => {
  it('accepts Go durations and seconds', () => {
    expect(checkDuration('min', '250ms')).toBe(250);
    expect(checkDuration('min', '1.5s')).toBe(1500);
    expect(checkDuration('min', '1h30m')).toBe(5_400_000);
    expect(checkDuration('min', '2')).toBe(2000);
    expect(checkDuration('min', '  ')).toBeNull();
  });
  it('refuses what is not a Go duration', () => {
    for (const bad of ['fast', '1d', '2w', '-1s', '1.5', '10 ms', 'ms']) {
      const r = checkDuration('min duration', bad);
      if (bad === '1.5') {
        expect(r).toBe(1500);
        continue;
      }
      expect(r, bad).toEqual({ error: expect.stringContaining('min duration') });
    }
  });
  it('validates the form as a whole', () => {
    expect(validateForm(emptyForm)).toEqual({});
    expect(validateForm({ ...emptyForm, minDuration: '2s', maxDuration: '1s' }).minDuration).toMatch(/not be more/);
    expect(validateForm({ ...emptyForm, maxDuration: '0s' }).maxDuration).toMatch(/more than 0/);
    expect(validateForm({ ...emptyForm, minDuration: 'x' }).minDuration).toBeDefined();
    expect(validateForm({ ...emptyForm, limit: '0' }).limit).toBeDefined();
    expect(validateForm({ ...emptyForm, limit: '2.5' }).limit).toBeDefined();
    expect(validateForm({ ...emptyForm, limit: '5000' }).limit).toBeDefined();
    expect(validateForm({ ...emptyForm, limit: '1000' })).toEqual({});
    expect(validateForm({ ...emptyForm, attrs: 'oops' }).attrs).toBeDefined();
  });
});

describe('apiParams', () => {
  it('sends the range in RFC 3339, attributes as a list and limit 50 by default', () => {
    const p = apiParams({ ...emptyForm, attrs: 'a=1 b=2', limit: '' }, { start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 0, 1, 1) });
    expect(p.attr).toEqual(['a=1', 'b=2']);
    expect(p.start).toBe('2026-01-01T00:00:00.000Z');
    expect(p.end).toBe('2026-01-01T01:00:00.000Z');
    expect(p.limit).toBe(50);
  });
});

describe('sorting', () => {
  const t = (id: string, start: string, d: number): TraceSummary => ({ trace_id: id, root_service: 's', root_operation: 'o', start, duration_ms: d, span_count: 1, error: false });
  const list = [t('a', '2026-01-01T00:00:01Z', 5), t('b', '2026-01-01T00:00:03Z', 1), t('c', '2026-01-01T00:00:02Z', 9)];
  it('newest first by default, by duration on demand', () => {
    expect(sortTraces(list, 'newest').map((x) => x.trace_id)).toEqual(['b', 'c', 'a']);
    expect(sortTraces(list, 'oldest').map((x) => x.trace_id)).toEqual(['a', 'c', 'b']);
    expect(sortTraces(list, 'slowest').map((x) => x.trace_id)).toEqual(['c', 'a', 'b']);
    expect(sortTraces(list, 'fastest').map((x) => x.trace_id)).toEqual(['b', 'a', 'c']);
    expect(list.map((x) => x.trace_id)).toEqual(['a', 'b', 'c']);
  });
  it('reads the sort off the URL', () => {
    expect(sortFromQuery(new URLSearchParams('sort=slowest'))).toBe('slowest');
    expect(sortFromQuery(new URLSearchParams('sort=weird'))).toBe('newest');
  });
});
