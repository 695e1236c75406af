import { describe, expect, it } from 'vitest';
import { filtersFromQuery, filtersToQuery, logsParams, severityClass, validTraceId } from './filters';

describe('logs filters and the URL', () => {
  it('reads the URL', () => {
    const f = filtersFromQuery(new URLSearchParams('q=%22db+down%22+-health&service=cart&host=h1&severity=ERROR&trace_id=ABC&live=1'));
    expect(f).toEqual({ q: '"db down" -health', service: 'cart', host: 'h1', trace_id: 'abc', severity: 'error', live: true });
  });

  it('ignores unknown severities and live values', () => {
    const f = filtersFromQuery(new URLSearchParams('severity=loud&live=yes'));
    expect(f.severity).toBe('');
    expect(f.live).toBe(false);
  });

  it('round-trips through the URL, leaving out empty filters', () => {
    const f = { q: 'a -b', service: 'x', host: '', trace_id: '', severity: 'warn', live: true };
    const q = filtersToQuery(f);
    expect(q).toEqual({ q: 'a -b', service: 'x', host: undefined, trace_id: undefined, severity: 'warn', live: '1' });
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) sp.set(k, v);
    expect(filtersFromQuery(sp)).toEqual(f);
  });

  it('builds API parameters; live tail has no end', () => {
    const r = { start: Date.UTC(2026, 0, 1, 10), end: Date.UTC(2026, 0, 1, 11) };
    const f = { q: ' x ', service: 's', host: '', trace_id: 'nothex', severity: 'error', live: false };
    expect(logsParams(f, r, 500)).toEqual({
      q: 'x',
      service: 's',
      host: undefined,
      trace_id: undefined,
      severity: 'error',
      start: '2026-01-01T10:00:00.000Z',
      end: '2026-01-01T11:00:00.000Z',
      limit: 500,
    });
    expect(logsParams({ ...f, live: true }, r, 500).end).toBeUndefined();
    const id = '0123456789abcdef0123456789abcdef';
    expect(logsParams({ ...f, trace_id: id }, r, 1).trace_id).toBe(id);
  });

  it('validates trace IDs', () => {
    expect(validTraceId('0123456789abcdef0123456789ABCDEF')).toBe(true);
    expect(validTraceId('0'.repeat(32))).toBe(false);
    expect(validTraceId('123')).toBe(false);
  });

  it('colours severities by number, else by text', () => {
    expect(severityClass('INFO', 9)).toBe('sev-info');
    expect(severityClass('whatever', 17)).toBe('sev-error');
    expect(severityClass('x', 24)).toBe('sev-fatal');
    expect(severityClass('x', 1)).toBe('sev-trace');
    expect(severityClass('Warning', 0)).toBe('sev-warn');
    expect(severityClass('CRITICAL')).toBe('sev-fatal');
    expect(severityClass('')).toBe('sev-unknown');
  });
});
