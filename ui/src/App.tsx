import { useEffect, useState } from 'react';
import { Link } from './components/Link';
import { TimeRangePicker } from './components/TimeRangePicker';
import { getToken, onUnauthorized, setToken } from './lib/api';
import { RefreshContext, useRefreshState, useRoute, useTheme } from './lib/hooks';
import { keepShared, href, type Page } from './lib/url';
import { AlertsPage } from './pages/Alerts';
import { HostsPage } from './pages/Hosts';
import { IncidentsPage } from './pages/Incidents';
import { LogsPage } from './pages/Logs';
import { TopologyPage } from './pages/Topology';
import { TracePage } from './pages/Trace';
import { TracesPage } from './pages/Traces';

const nav: { page: Page; path: string; label: string }[] = [
  { page: 'topology', path: '/', label: 'Topology' },
  { page: 'incidents', path: '/incidents', label: 'Incidents' },
  { page: 'traces', path: '/traces', label: 'Traces' },
  { page: 'logs', path: '/logs', label: 'Logs' },
  { page: 'hosts', path: '/hosts', label: 'Hosts' },
  { page: 'alerts', path: '/alerts', label: 'Alerts' },
];

function PageView({ page }: { page: Page }) {
  switch (page) {
    case 'topology':
      return <TopologyPage />;
    case 'incidents':
      return <IncidentsPage />;
    case 'traces':
      return <TracesPage />;
    case 'trace':
      return <TracePage />;
    case 'logs':
      return <LogsPage />;
    case 'hosts':
      return <HostsPage />;
    case 'alerts':
      return <AlertsPage />;
    default:
      return (
        <div className="state state-empty">
          <h1>Not found</h1>
          <p>
            There is no page at this address. <Link href="/">Go to the topology.</Link>
          </p>
        </div>
      );
  }
}

function TokenDialog({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState(getToken());
  return (
    <div className="modal-backdrop">
      <form
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="token-title"
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim());
          onDone();
        }}
      >
        <h2 id="token-title">This Faultline needs a token</h2>
        <p>The server was started with -http.auth-token. Paste the token; it is kept in this browser only.</p>
        <input type="password" autoFocus value={value} onChange={(e) => setValue(e.target.value)} aria-label="Token" />
        <button type="submit" className="btn primary">
          Save
        </button>
      </form>
    </div>
  );
}

export function App() {
  const route = useRoute();
  const refreshState = useRefreshState(route.query.get('refresh'));
  const [theme, setTheme] = useTheme();
  const [needToken, setNeedToken] = useState(false);
  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      if (e.key === '/') {
        const search = document.querySelector<HTMLInputElement>('[data-search]');
        if (search) {
          e.preventDefault();
          search.focus();
        }
      } else if (e.key === 'r') {
        refreshState.refresh();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [refreshState]);
  const current = route.page === 'trace' ? 'traces' : route.page;
  return (
    <RefreshContext.Provider value={refreshState}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href={href('/', keepShared(window.location.search))} className="brand">
          Faultline
        </Link>
        <nav aria-label="Pages">
          {nav.map((n) => (
            <Link key={n.page} href={href(n.path, keepShared(window.location.search))} aria-current={current === n.page ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="topbar-right">
          <TimeRangePicker />
          <select aria-label="Theme" value={theme} onChange={(e) => setTheme(e.target.value)}>
            <option value="">System theme</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <PageView page={route.page} />
      </main>
      {needToken && (
        <TokenDialog
          onDone={() => {
            setNeedToken(false);
            refreshState.refresh();
          }}
        />
      )}
    </RefreshContext.Provider>
  );
}
