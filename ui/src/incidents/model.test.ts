import { describe, expect, it } from 'vitest';
import type { Evidence, Incident } from '../types';
import {
  aroundIncident,
  blastRadius,
  evidenceFields,
  formatMeasure,
  groupEvidence,
  incidentDuration,
  incidentIdTime,
  kindClass,
  rootCauseServices,
  signalName,
  traceIds,
} from './model';

const inc = {
  id: '20261122T122900Z-5e3c2cc4',
  start: '2026-11-22T12:29:00Z',
  end: '2026-11-22T12:31:00Z',
  ongoing: false,
  last_seen: '2026-11-22T12:31:00Z',
  root_cause: 'payment',
  kind: 'error',
  summary: '',
  root_causes: [{ service: 'payment', score: 0.8, kind: 'error', evidence: [] }, { service: 'db', score: 0.2, kind: 'latency', evidence: [] }],
  affected: [
    { service: 'checkout', impact: 0.9 },
    { service: 'frontend', impact: 0.9 },
    { service: 'frontend', impact: 0.5 },
  ],
  paths: [['frontend', 'checkout', 'payment']],
  exemplar_traces: [],
} as Incident;

describe('incident helpers', () => {
  it('measures an ended and an ongoing incident', () => {
    expect(incidentDuration(inc, 0)).toBe(120_000);
    const now = Date.parse('2026-11-22T12:40:00Z');
    expect(incidentDuration({ ...inc, end: null, ongoing: true }, now)).toBe(11 * 60_000);
  });

  it('counts distinct affected services and lists root causes once', () => {
    expect(blastRadius(inc)).toBe(2);
    expect(rootCauseServices(inc)).toEqual(['payment', 'db']);
  });

  it('reads the start encoded in an incident ID', () => {
    expect(incidentIdTime('20261122T122900Z-5e3c2cc4')).toBe(Date.parse('2026-11-22T12:29:00Z'));
    expect(incidentIdTime('abc')).toBeNull();
  });

  it('pads the window around an incident, open-ended while ongoing', () => {
    expect(aroundIncident(inc)).toEqual({ from: '2026-11-22T12:24:00.000Z', to: '2026-11-22T12:36:00.000Z' });
    expect(aroundIncident({ ...inc, end: null, ongoing: true })).toEqual({ from: '2026-11-22T12:24:00.000Z' });
  });

  it('maps kinds to classes', () => {
    expect(kindClass('latency')).toBe('kind-latency');
    expect(kindClass('<script>')).toBe('kind-other');
  });
});

describe('evidence', () => {
  const ev: Evidence[] = [
    { type: 'error_message', text: 'm1', count: 3 },
    { type: 'weird_new_thing', text: 'w', foo: 1 },
    { type: 'anomaly', text: 'a1', baseline: 0, current: 0.93, unit: 'ratio' },
    { type: 'host_saturation', text: 'h', host: 'vm' },
    { type: 'error_log', text: 'l', trace_ids: ['t1', 2, ''] },
    { type: 'anomaly', text: 'a2' },
  ];

  it('groups known types in order, then host evidence, then unknown ones', () => {
    const g = groupEvidence(ev);
    expect(g.map((x) => x.type)).toEqual(['anomaly', 'error_message', 'error_log', 'host_saturation', 'weird_new_thing']);
    expect(g[0].items.map((e) => e.text)).toEqual(['a1', 'a2']);
    expect(g[0].title).toBe('Anomalies');
    expect(g[4].title).toBe('Weird new thing');
  });

  it('formats measures in their unit', () => {
    expect(formatMeasure(0.933, 'ratio')).toBe('93.3%');
    expect(formatMeasure(0, 'ratio')).toBe('0.00%');
    expect(formatMeasure(1520, 'ms')).toBe('1.52s');
    expect(formatMeasure(2.5, 'calls_per_request')).toBe('2.5 calls/request');
    expect(formatMeasure(3, 'widgets')).toBe('3 widgets');
    expect(formatMeasure(undefined, 'ratio')).toBe('–');
  });

  it('names signals', () => {
    expect(signalName('errors')).toBe('error rate');
    expect(signalName('queue_depth')).toBe('queue depth');
  });

  it('lists the other fields of unknown evidence', () => {
    expect(evidenceFields({ type: 'x', text: 't', host: 'vm', cpu: 0.97, tags: ['a', 'b'], empty: '', obj: { k: 1 }, none: null })).toEqual([
      ['host', 'vm'],
      ['cpu', '0.97'],
      ['tags', 'a, b'],
      ['obj', '{"k":1}'],
    ]);
  });

  it('keeps only string trace IDs', () => {
    expect(traceIds(ev[4])).toEqual(['t1']);
    expect(traceIds(ev[0])).toEqual([]);
  });
});
