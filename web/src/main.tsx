/** Entry point: the app shell (header, navigation) and the page for the current path. */
import { render } from 'preact';
import type * as preact from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type WebConfig } from './api.js';
import { SessionPage } from './components/SessionPage.js';
import { SessionsPage } from './components/SessionsPage.js';
import { StartPage } from './components/StartPage.js';
import { onLinkClick, parseRoute, paths, useLocation } from './router.js';
import './styles.css';

/** The Agent pages load on first use: the map (React Flow, elkjs, the YAML editor) is most of the bundle. */
type AgentModule = typeof import('./components/AgentPage.js');
function Lazy({ render: draw }: { render(m: AgentModule): preact.ComponentChildren }) {
  const [mod, setMod] = useState<AgentModule>();
  useEffect(() => {
    import('./components/AgentPage.js').then(setMod, () => undefined);
  }, []);
  return mod ? <>{draw(mod)}</> : <p class="muted page">Loading…</p>;
}

const FALLBACK_CONFIG: WebConfig = { temporalUiUrl: 'http://localhost:8233', namespace: 'default' };

function App() {
  const { pathname } = useLocation();
  const route = parseRoute(pathname);
  const [config, setConfig] = useState<WebConfig>(FALLBACK_CONFIG);
  useEffect(() => {
    api.config().then(setConfig, () => undefined);
  }, []);
  useEffect(() => {
    // Move focus to the new page's heading so screen readers announce the navigation.
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [pathname]);

  const nav = (href: string, label: string, active: boolean) => (
    <a href={href} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Stepwise</span>
        <nav aria-label="Main">
          {nav(paths.start(), 'Chat', route.page === 'start' || route.page === 'chat')}
          {nav(paths.sessions(), 'Sessions', route.page === 'sessions' || route.page === 'session')}
          {nav(paths.agents(), 'Agents', route.page === 'agents' || route.page === 'agent')}
          <a href="/docs">API docs</a>
        </nav>
      </header>
      <main id="main">
        {route.page === 'start' && <StartPage />}
        {route.page === 'chat' && <SessionPage key={`c:${route.sessionId}`} sessionId={route.sessionId} interactive config={config} />}
        {route.page === 'session' && <SessionPage key={`s:${route.sessionId}`} sessionId={route.sessionId} interactive={false} config={config} />}
        {route.page === 'sessions' && <SessionsPage />}
        {route.page === 'agents' && <Lazy render={(m) => <m.AgentsPage />} />}
        {route.page === 'agent' && <Lazy key={`a:${route.agentId}`} render={(m) => <m.AgentPage agentId={route.agentId} />} />}
        {route.page === 'missing' && (
          <section class="page">
            <h1 tabIndex={-1}>Not found</h1>
            <p>
              No page at {pathname}. <a href={paths.start()}>Start a chat</a>.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('root')!);
