// The service panel: a drawer over the topology with one service's RED charts, its worst
// operations, the hosts it runs on, and the way to its logs and traces (keeping the range).
// Escape or the close button closes it (removing service= from the URL).
import { useEffect, useRef } from 'react';
import { Chart, fromProm } from '../components/Chart';
import { Link } from '../components/Link';
import { Empty, ErrorBox, Loading } from '../components/State';
import { loadHosts } from '../hosts/load';
import { rateWindow } from '../hosts/model';
import { formatValue } from '../lib/format';
import { useAsync, useRefresh } from '../lib/hooks';
import { queryInstant, queryRange } from '../lib/prom';
import { step, type Resolved } from '../lib/time';
import { href, keepShared } from '../lib/url';
import type { TopologyNode } from '../types';
import { perSecond, type Role } from '../topology/model';
import { errorRows, redQueries, slowRows, type OperationRow } from '../topology/queries';
import { RedStats } from '../topology/RedStats';

const kindNames: Record<string, string> = { service: 'service', database: 'database', cache: 'cache', external: 'external API', messaging: 'messaging', uninstrumented: 'not instrumented' };

export function ServicePanel({
  service,
  node,
  role,
  impact,
  resolved,
  onClose,
  onFocus,
}: {
  service: string;
  /** The service's node in the topology (undefined when it is not in the range). */
  node: TopologyNode | undefined;
  role: Role;
  impact?: number;
  resolved: Resolved;
  onClose: () => void;
  onFocus: () => void;
}) {
  const { tick } = useRefresh();
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  // Keyboard users land in the panel, and go back where they were when it closes.
  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    closeRef.current?.focus({ preventScroll: true });
    return () => {
      if (before && before.isConnected) before.focus({ preventScroll: true });
    };
  }, []);

  const kind = node?.kind ?? 'service';
  const instrumented = kind === 'service';
  const st = step(resolved);
  const q = redQueries(service, kind, rateWindow(st), (resolved.end - resolved.start) / 1000);
  const charts = useAsync(
    async (signal) => {
      const range = (expr: string) => queryRange(expr, resolved.start, resolved.end, st, signal);
      const [rate, errors, ...lat] = await Promise.all([range(q.rate), range(q.errorRate), ...q.latency.map((l) => range(l.expr))]);
      return {
        rate: fromProm(rate, () => (instrumented ? 'requests/s' : 'calls/s')),
        errors: fromProm(errors, () => 'error rate'),
        latency: lat.flatMap((s, i) => fromProm(s, () => q.latency[i].label)),
      };
    },
    [service, kind, resolved.start, resolved.end, tick],
  );
  const ops = useAsync(
    async (signal) => {
      const [errs, reqs, slow] = await Promise.all([queryInstant(q.errorsBy, resolved.end, signal), queryInstant(q.requestsBy, resolved.end, signal), queryInstant(q.slowest, resolved.end, signal)]);
      return { errors: errorRows(errs, reqs, q.by), slowest: slowRows(slow, q.by) };
    },
    [service, kind, resolved.start, resolved.end, tick],
  );
  const hosts = useAsync((signal) => loadHosts(resolved, signal), [resolved.start, resolved.end, tick]);
  const onHosts = (hosts.data?.hosts ?? []).filter((h) => h.services.includes(service));

  const shared = keepShared(window.location.search);
  const rowHref = (r: OperationRow, errors: boolean) =>
    q.by === 'operation'
      ? href('/traces', { ...shared, service, operation: r.operation, status: errors ? 'error' : undefined })
      : href('/traces', { ...shared, service: r.operation, status: errors ? 'error' : undefined });
  const byName = q.by === 'operation' ? 'operation' : 'caller';
  return (
    <aside className="service-panel" data-testid="service-panel" aria-label={`Service ${service}`}>
      <header>
        <h2 title={service}>{service}</h2>
        <button ref={closeRef} type="button" className="btn" onClick={onClose} aria-label="Close the service panel" title="Close (Esc)">
          ✕
        </button>
      </header>
      <p className="panel-tags">
        <span className="hint">{kindNames[kind] ?? kind}</span>
        {node && <span className={`badge health-${node.health}`}>{node.health}</span>}
        {role === 'root-cause' && <span className="topo-role root-cause">root cause</span>}
        {role === 'affected' && <span className="topo-role affected">affected {impact !== undefined ? formatValue(impact, 'ratio') : ''}</span>}
      </p>
      {node ? (
        <RedStats
          className="panel-stats"
          rateLabel={instrumented ? 'requests' : 'calls'}
          rps={perSecond(node.requests, resolved.end - resolved.start)}
          errorRate={node.error_rate}
          p50={node.p50_ms}
          p99={node.p99_ms}
        />
      ) : (
        <p className="hint">{service} is not in the topology for this range.</p>
      )}
      <nav className="panel-links" aria-label={`Go to ${service}'s data`}>
        {instrumented ? (
          <>
            <Link href={href('/traces', { ...shared, service, status: 'error' })}>Error traces</Link>
            <Link href={href('/traces', { ...shared, service })}>All traces</Link>
            <Link href={href('/logs', { ...shared, service })}>Logs</Link>
            <Link href={href('/logs', { ...shared, service, severity: 'error' })}>Error logs</Link>
          </>
        ) : (
          <span className="hint">Seen only through its callers' spans: it has no traces or logs of its own.</span>
        )}
        {node && (
          <button type="button" className="linkbtn" onClick={onFocus}>
            Show its neighbourhood
          </button>
        )}
      </nav>

      <section aria-label="Rate, errors, duration">
        {charts.error && !charts.data ? (
          <ErrorBox error={charts.error} what="the charts" />
        ) : !charts.data ? (
          <Loading what="Loading charts" />
        ) : (
          <div className="panel-charts">
            <Chart title={instrumented ? 'Requests' : 'Calls into it'} series={charts.data.rate} unit="rps" height={120} />
            <Chart title="Error rate" series={charts.data.errors} unit="ratio" height={120} />
            <Chart title="Latency (p50, p95, p99)" series={charts.data.latency} unit="s" height={120} />
          </div>
        )}
      </section>

      <section>
        {ops.error && !ops.data ? (
          <ErrorBox error={ops.error} what={`the ${byName}s`} />
        ) : !ops.data ? (
          <Loading what={`Loading ${byName}s`} />
        ) : (
          <>
            <OperationTable
              title={instrumented ? 'Top errors' : 'Errors by caller'}
              column={byName}
              rows={ops.data.errors}
              empty="No errors in this range."
              value={(r) => `${formatValue(r.rate, 'ratio')} (${Math.round(r.value)})`}
              valueName="error rate (errors)"
              link={(r) => rowHref(r, true)}
            />
            <OperationTable
              title={instrumented ? 'Slowest operations' : 'Slowest callers'}
              column={byName}
              rows={ops.data.slowest}
              empty="No traffic in this range."
              value={(r) => formatValue(r.value, 's')}
              valueName="p99"
              link={(r) => rowHref(r, false)}
            />
          </>
        )}
      </section>

      <section>
        <h3>Hosts</h3>
        {hosts.error && !hosts.data ? (
          <ErrorBox error={hosts.error} what="the hosts" />
        ) : !hosts.data ? (
          <Loading what="Loading hosts" />
        ) : onHosts.length === 0 ? (
          <Empty>
            {instrumented ? `No host reported for ${service} in this range (its spans carry no host.name).` : 'Not instrumented: its hosts are not known.'}
          </Empty>
        ) : (
          <table className="panel-table">
            <thead>
              <tr>
                <th>host</th>
                <th className="num">CPU</th>
                <th className="num">memory</th>
              </tr>
            </thead>
            <tbody>
              {onHosts.map((h) => (
                <tr key={h.host}>
                  <td>
                    <Link href={href(`/hosts/${encodeURIComponent(h.host)}`, shared)}>{h.host}</Link>
                  </td>
                  {h.agent ? (
                    <>
                      <td className="num">{formatValue(h.cpu_utilization, 'ratio')}</td>
                      <td className="num">{formatValue(h.memory_utilization, 'ratio')}</td>
                    </>
                  ) : (
                    <td colSpan={2} className="hint">
                      no agent on this host
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </aside>
  );
}

function OperationTable({
  title,
  column,
  rows,
  empty,
  value,
  valueName,
  link,
}: {
  title: string;
  column: string;
  rows: OperationRow[];
  empty: string;
  value: (r: OperationRow) => string;
  valueName: string;
  link: (r: OperationRow) => string;
}) {
  return (
    <>
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <Empty>{empty}</Empty>
      ) : (
        <table className="panel-table">
          <thead>
            <tr>
              <th>{column}</th>
              <th className="num">{valueName}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.operation}>
                <td>
                  <Link href={link(r)}>{r.operation === '' ? '(none)' : r.operation}</Link>
                </td>
                <td className="num">{value(r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
