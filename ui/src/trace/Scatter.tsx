// Duration over time for the search results: one dot per trace (errors in the failing colour);
// a dot is a link to its trace. Plain SVG styled by the theme's variables.
import { useLayoutEffect, useRef, useState } from 'react';
import { navigate } from '../lib/hooks';
import { formatDuration, formatTime } from '../lib/time';
import type { TraceSummary } from '../types';
import { formatWall, linearTicks, wallTicks } from './ticks';

const H = 190;
const M = { left: 62, right: 14, top: 10, bottom: 24 };

export function Scatter({ traces, linkFor }: { traces: TraceSummary[]; linkFor: (id: string) => string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const pts = traces
    .map((t) => ({ t, x: Date.parse(t.start), y: t.duration_ms }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  let x0 = Math.min(...pts.map((p) => p.x));
  let x1 = Math.max(...pts.map((p) => p.x));
  if (!(x1 > x0)) {
    x0 -= 30_000;
    x1 += 30_000;
  }
  const pad = (x1 - x0) * 0.03;
  x0 -= pad;
  x1 += pad;
  const yMax = Math.max(1e-3, ...pts.map((p) => p.y)) * 1.08;
  const plotW = Math.max(50, width - M.left - M.right);
  const plotH = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => M.top + plotH - (y / yMax) * plotH;
  const xt = wallTicks(x0, x1, Math.max(2, Math.floor(plotW / 110)), -new Date(x0).getTimezoneOffset());
  const yt = linearTicks(0, yMax, 4);
  const errors = pts.filter((p) => p.t.error).length;

  return (
    <figure className="scatter">
      <figcaption>
        Duration over time{' '}
        <span className="hint">
          <span className="legend-dot" style={{ background: 'var(--accent)' }} />
          ok ({pts.length - errors}) <span className="legend-dot" style={{ background: 'var(--failing)', marginLeft: 8 }} />
          error ({errors})
        </span>
      </figcaption>
      <div ref={ref}>
        <svg width={width} height={H} role="img" aria-label={`Duration of ${pts.length} traces over time; the table below lists them.`}>
          <g className="axis">
            {yt.ticks.map((v) => (
              <g key={v}>
                <line className="grid" x1={M.left} x2={M.left + plotW} y1={sy(v)} y2={sy(v)} />
                <text x={M.left - 6} y={sy(v) + 4} textAnchor="end">
                  {v === 0 ? '0' : formatDuration(v)}
                </text>
              </g>
            ))}
            <line className="base" x1={M.left} x2={M.left + plotW} y1={M.top + plotH} y2={M.top + plotH} />
            {xt.ticks.map((t) => (
              <text key={t} x={sx(t)} y={H - 6} textAnchor="middle">
                {formatWall(t, xt.step)}
              </text>
            ))}
          </g>
          {/* Errors drawn last, on top. */}
          {[...pts].sort((a, b) => Number(a.t.error) - Number(b.t.error)).map((p) => {
            const to = linkFor(p.t.trace_id);
            return (
              <a
                key={p.t.trace_id}
                href={to}
                tabIndex={-1}
                onClick={(e) => {
                  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
                  e.preventDefault();
                  navigate(to);
                }}
              >
                <circle className={p.t.error ? 'pt err' : 'pt'} cx={sx(p.x)} cy={sy(p.y)} r={p.t.error ? 5 : 4}>
                  <title>{`${p.t.root_service}: ${p.t.root_operation}\n${formatDuration(p.y)} at ${formatTime(p.x)}${p.t.error ? '\nerror' : ''}`}</title>
                </circle>
              </a>
            );
          })}
        </svg>
      </div>
    </figure>
  );
}
