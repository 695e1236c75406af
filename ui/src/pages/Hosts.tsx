// Hosts (/hosts and /hosts/<host>): the machines Faultline knows of, with the services on
// them and their CPU and memory; a host's page charts its agent's metrics.
import { useMemo } from 'react';
import { Chart, fromProm } from '../components/Chart';
import { Link } from '../components/Link';
import { Empty, ErrorBox, Loading } from '../components/State';
import { loadHosts, type LoadedHosts } from '../hosts/load';
import { hostCharts, processRows, processSeriesQuery, topProcessesQuery, utilClass, type HostChart, type HostInfo } from '../hosts/model';
import { formatValue } from '../lib/format';
import { setQuery, useAsync, useRefresh, useRoute, useTimeRange, type Async } from '../lib/hooks';
import { queryInstant, queryRange } from '../lib/prom';
import { formatTime, step } from '../lib/time';
import { href, keepShared } from '../lib/url';
import '../hosts/hosts.css';

function serviceHref(service: string): string {
  return href('/', keepShared(window.location.search, { service }));
}

function hostHref(host: string): string {
  return href(`/hosts/${encodeURIComponent(host)}`, keepShared(window.location.search));
}

function logsHref(host: string): string {
  return href('/logs', keepShared(window.location.search, { host }));
}

function Util({ value, label }: { value: number | null; label: string }) {
  if (value === null) return <span className="hint">–</span>;
  const v = Math.max(0, Math.min(1, value));
  return (
    <span className="util" title={`${label} ${formatValue(value, 'ratio')}`}>
      <span className={`util-bar ${utilClass(value)}`} aria-hidden="true">
        <span style={{ width: `${v * 100}%` }} />
      </span>
      <span className="util-text">{formatValue(value, 'ratio')}</span>
    </span>
  );
}

export function HostsPage() {
  const route = useRoute();
  const { resolved } = useTimeRange();
  const { tick } = useRefresh();
  const hosts = useAsync((signal) => loadHosts(resolved, signal), [resolved.start, resolved.end, tick]);
  if (route.arg !== '') return <HostPage host={route.arg} hosts={hosts} />;
  return <HostList hosts={hosts} filter={route.query.get('q') ?? ''} />;
}

type HostsState = Async<LoadedHosts>;

function HostList({ hosts, filter }: { hosts: HostsState; filter: string }) {
  const { now } = useRefresh();
  const terms = filter.toLowerCase().split(/\s+/).filter((t) => t !== '');
  const shown = (hosts.data?.hosts ?? []).filter((h) => terms.every((t) => h.host.toLowerCase().includes(t) || h.services.some((s) => s.toLowerCase().includes(t))));
  return (
    <div className="hosts-page">
      <h1>
        Hosts {hosts.data && <span className="hint">{hosts.data.hosts.length}</span>}
      </h1>
      <div className="toolbar" role="search">
        <input
          type="search"
          data-search
          placeholder="Filter by host or service (/)"
          aria-label="Filter hosts by host or service name"
          value={filter}
          onChange={(e) => setQuery({ q: e.target.value }, true)}
          size={32}
        />
        {hosts.data?.source === 'fallback' && (
          <span className="hint" title="GET /api/v1/hosts is not available on this server">
            Built from the agents' metrics and recent logs.
          </span>
        )}
      </div>
      {hosts.error && <ErrorBox error={hosts.error} what="hosts" />}
      {!hosts.data && hosts.loading && <Loading what="Loading hosts" />}
      {hosts.data && hosts.data.hosts.length === 0 && <Empty>No host reported in this time range.</Empty>}
      {hosts.data && hosts.data.hosts.length > 0 && shown.length === 0 && <Empty>No host matches this filter.</Empty>}
      {shown.length > 0 && (
        <table className="data hosts-table">
          <thead>
            <tr>
              <th>Host</th>
              <th>Services</th>
              <th>CPU</th>
              <th>Memory</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((h) => (
              <tr key={h.host} data-host={h.host} data-agent={h.agent ? 'true' : 'false'}>
                <td>
                  <Link href={hostHref(h.host)} className="host-name">
                    {h.host}
                  </Link>
                  {!h.agent && (
                    <div className="hint" title="No agent reports this host's metrics">
                      no agent
                    </div>
                  )}
                </td>
                <td>
                  <ServiceLinks services={h.services} />
                </td>
                <td>
                  <Util value={h.cpu_utilization} label="CPU" />
                </td>
                <td>
                  <Util value={h.memory_utilization} label="Memory" />
                </td>
                <td>{h.last_seen ? formatTime(Date.parse(h.last_seen), now) : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ServiceLinks({ services }: { services: string[] }) {
  if (services.length === 0) return <span className="hint">–</span>;
  return (
    <ul className="host-services">
      {services.map((s) => (
        <li key={s}>
          <Link href={serviceHref(s)}>{s}</Link>
        </li>
      ))}
    </ul>
  );
}

function HostPage({ host, hosts }: { host: string; hosts: HostsState }) {
  const { resolved } = useTimeRange();
  const info: HostInfo | undefined = hosts.data?.hosts.find((h) => h.host === host);
  const st = step(resolved);
  const charts = useMemo(() => hostCharts(host, st), [host, st]);
  const noAgent = info !== undefined && !info.agent;
  return (
    <div className="hosts-page">
      <p className="crumbs">
        <Link href={href('/hosts', keepShared(window.location.search))}>Hosts</Link> /
      </p>
      <h1 className="host-title">{host}</h1>
      <div className="host-meta panel">
        <div>
          <strong>Services on this host: </strong>
          {hosts.error && <span className="hint error">could not load ({hosts.error.message})</span>}
          {!hosts.data && hosts.loading && <span className="hint">loading…</span>}
          {hosts.data && (info ? <ServiceLinks services={info.services} /> : <span className="hint">none seen in this range</span>)}
        </div>
        <div className="host-links">
          <Link href={logsHref(host)}>Logs of this host</Link>
          {info && (
            <>
              <span>
                CPU <Util value={info.cpu_utilization} label="CPU" />
              </span>
              <span>
                Memory <Util value={info.memory_utilization} label="Memory" />
              </span>
            </>
          )}
        </div>
      </div>
      {noAgent ? (
        <Empty>No agent reports this host's metrics, so there are no charts. Run the Faultline agent on it to see CPU, memory, disks and network.</Empty>
      ) : (
        <>
          <div className="charts">
            {charts.map((c) => (
              <HostChartView key={c.id} chart={c} />
            ))}
          </div>
          <TopProcesses host={host} />
        </>
      )}
    </div>
  );
}

function HostChartView({ chart }: { chart: HostChart }) {
  const { resolved } = useTimeRange();
  const { tick } = useRefresh();
  const st = step(resolved);
  const data = useAsync((signal) => queryRange(chart.expr, resolved.start, resolved.end, st, signal), [chart.expr, resolved.start, resolved.end, st, tick]);
  const series = useMemo(() => (data.data ? fromProm(data.data, chart.label) : []), [data.data, chart]);
  if (data.error)
    return (
      <figure className="chart">
        <figcaption>{chart.title}</figcaption>
        <ErrorBox error={data.error} what={chart.title.toLowerCase()} />
      </figure>
    );
  if (!data.data)
    return (
      <figure className="chart">
        <figcaption>{chart.title}</figcaption>
        <Loading />
      </figure>
    );
  return <Chart title={chart.title} series={series} unit={chart.unit} stacked={chart.stacked} />;
}

function TopProcesses({ host }: { host: string }) {
  const { resolved } = useTimeRange();
  const { tick } = useRefresh();
  const top = useAsync((signal) => queryInstant(topProcessesQuery(host, 10), resolved.end, signal), [host, resolved.end, tick]);
  const rows = useMemo(() => processRows(top.data ?? []), [top.data]);
  const seriesExpr = processSeriesQuery(
    host,
    rows.slice(0, 5).map((r) => r.pid),
  );
  const st = step(resolved);
  const series = useAsync(
    (signal) => (seriesExpr === null ? Promise.resolve([]) : queryRange(seriesExpr, resolved.start, resolved.end, st, signal)),
    [seriesExpr, resolved.start, resolved.end, st, tick],
  );
  const chartSeries = useMemo(() => fromProm(series.data ?? [], (m) => `${m.process_executable_name ?? '?'} (${m.process_pid ?? ''})`), [series.data]);
  return (
    <section className="top-processes">
      <h2>Top processes by CPU</h2>
      {top.error && <ErrorBox error={top.error} what="processes" />}
      {!top.data && top.loading && <Loading />}
      {top.data && rows.length === 0 && <Empty>No process metrics for this host.</Empty>}
      {rows.length > 0 && (
        <div className="processes">
          <table className="data">
            <thead>
              <tr>
                <th>Process</th>
                <th className="num">PID</th>
                <th>Owner</th>
                <th className="num">CPU (5m avg)</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.pid}-${r.name}`}>
                  <td className="mono">{r.name}</td>
                  <td className="num">{r.pid}</td>
                  <td>{r.owner || '–'}</td>
                  <td className="num">{formatValue(r.cpu, 'ratio')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {series.error ? <ErrorBox error={series.error} what="process CPU" /> : <Chart title="CPU of the top 5 processes" series={chartSeries} unit="ratio" />}
        </div>
      )}
    </section>
  );
}
