// The incidents timeline: one bar per incident over the chosen range, stacked in lanes where
// they overlap, coloured by kind and labelled with the root cause; a bar selects its incident.
import { Fragment, useEffect, useRef, useState } from 'react';
import { formatDuration, formatTime } from '../lib/time';
import type { Incident } from '../types';
import { incidentDuration, kindClass, parseTime } from './model';
import { assignLanes, barGeometry, labelPlacement, ticks, type Range } from './timeline';

const laneHeight = 26;

export function Timeline({ incidents, range, now, selected, onSelect }: { incidents: Incident[]; range: Range; now: number; selected: string; onSelect: (id: string) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1100);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const placed = incidents
    .map((inc) => ({ inc, bar: barGeometry(parseTime(inc.start), inc.ongoing || inc.end === null ? null : parseTime(inc.end), now, range) }))
    .filter((x): x is { inc: Incident; bar: NonNullable<typeof x.bar> } => x.bar !== null);
  // About 7 px per character of the 12 px label, plus padding.
  const labels = placed.map(({ inc, bar }) => labelPlacement(bar, ((inc.root_cause.length + (bar.ongoing ? 8 : 0)) * 7 + 16) / width));
  const lanes = assignLanes(labels.map((l) => l.extent));
  const laneCount = Math.max(1, ...lanes.map((l) => l + 1));
  const axis = ticks(range, 8, new Date(range.end).getTimezoneOffset());
  const nowX = now >= range.start && now <= range.end ? (now - range.start) / (range.end - range.start) : null;
  return (
    <div className="timeline panel" aria-label="Incidents timeline">
      <div className="timeline-lanes" ref={ref} style={{ height: laneCount * laneHeight + 4 }}>
        {axis.map((t) => (
          <div key={t.t} className="timeline-grid" style={{ left: `${t.x * 100}%` }} aria-hidden="true" />
        ))}
        {nowX !== null && <div className="timeline-now" style={{ left: `${nowX * 100}%` }} aria-hidden="true" title="now" />}
        {placed.map(({ inc, bar }, i) => {
          const top = lanes[i] * laneHeight + 2;
          const side = labels[i].side;
          const end = bar.ongoing ? 'ongoing' : formatTime(parseTime(inc.end), now);
          const title = `${inc.root_cause}: ${inc.kind}, ${formatTime(parseTime(inc.start), now)} – ${end} (${formatDuration(incidentDuration(inc, now))})`;
          const text = (
            <>
              {inc.root_cause}
              {bar.ongoing && <span className="timeline-ongoing"> ongoing</span>}
            </>
          );
          const classes = ['timeline-bar', kindClass(inc.kind), bar.ongoing && 'ongoing', bar.clippedStart && 'clipped-start', bar.clippedEnd && 'clipped-end'];
          return (
            <Fragment key={inc.id}>
              <button
                type="button"
                className={classes.filter(Boolean).join(' ')}
                style={{ left: `${bar.x * 100}%`, width: `${bar.width * 100}%`, top }}
                aria-pressed={inc.id === selected}
                aria-label={`${inc.root_cause} (${inc.kind})${bar.ongoing ? ', ongoing' : ''}`}
                title={title}
                onClick={() => onSelect(inc.id)}
              >
                {side === 'inside' && <span className="timeline-label">{text}</span>}
              </button>
              {side !== 'inside' && (
                <span
                  className={`timeline-outside ${kindClass(inc.kind)}`}
                  aria-hidden="true"
                  style={side === 'right' ? { left: `calc(${(bar.x + bar.width) * 100}% + 4px)`, top } : { right: `calc(${(1 - bar.x) * 100}% + 4px)`, top }}
                >
                  {text}
                </span>
              )}
            </Fragment>
          );
        })}
      </div>
      <div className="timeline-axis" aria-hidden="true">
        {axis.map((t) => (
          <span key={t.t} style={{ left: `${t.x * 100}%` }}>
            {new Date(t.t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false })}
          </span>
        ))}
      </div>
    </div>
  );
}
