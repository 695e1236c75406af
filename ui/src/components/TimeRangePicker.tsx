import { useEffect, useState } from 'react';
import { setQuery, useRefresh, useRoute } from '../lib/hooks';
import { describeRange, isValidRange, presets, rangeFromQuery } from '../lib/time';

const refreshChoices = ['', '5s', '10s', '30s', '1m', '5m'];

/** TimeRangePicker edits from/to/refresh in the URL: presets or typed ends ("now-2h", RFC 3339). */
export function TimeRangePicker() {
  const route = useRoute();
  const { refresh } = useRefresh();
  const range = rangeFromQuery(route.query);
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  useEffect(() => {
    setFrom(range.from);
    setTo(range.to);
  }, [range.from, range.to]);
  const valid = isValidRange({ from, to }, Date.now());
  const apply = (f: string, t: string) => {
    setQuery({ from: f === 'now-1h' && t === 'now' ? undefined : f, to: t === 'now' ? undefined : t });
    setOpen(false);
  };
  return (
    <div className="timepicker">
      <button type="button" className="btn" aria-expanded={open} aria-haspopup="dialog" onClick={() => setOpen(!open)} title="Time range">
        {describeRange(range)}
      </button>
      {open && (
        <div
          className="popover"
          role="dialog"
          aria-label="Time range"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
          }}
        >
          <div className="popover-presets">
            {presets.map((p) => (
              <button key={p.from} type="button" className="linkbtn" onClick={() => apply(p.from, 'now')}>
                {p.label}
              </button>
            ))}
          </div>
          <form
            className="popover-custom"
            onSubmit={(e) => {
              e.preventDefault();
              if (valid) apply(from.trim(), to.trim());
            }}
          >
            <label>
              From <input value={from} onChange={(e) => setFrom(e.target.value)} aria-invalid={!valid} />
            </label>
            <label>
              To <input value={to} onChange={(e) => setTo(e.target.value)} aria-invalid={!valid} />
            </label>
            {!valid && <span className="hint error">Use now, now-15m, RFC 3339 or Unix seconds; from before to.</span>}
            <button type="submit" className="btn primary" disabled={!valid}>
              Apply
            </button>
          </form>
        </div>
      )}
      <select
        aria-label="Auto-refresh"
        value={route.query.get('refresh') ?? ''}
        onChange={(e) => setQuery({ refresh: e.target.value }, true)}
      >
        {refreshChoices.map((c) => (
          <option key={c} value={c}>
            {c === '' ? 'Auto-refresh off' : `Every ${c}`}
          </option>
        ))}
      </select>
      <button type="button" className="btn" onClick={refresh} title="Refresh now (r)" aria-label="Refresh now">
        ⟳
      </button>
    </div>
  );
}
