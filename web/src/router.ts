/**
 * Path routing for the app under `/app` (the server answers every `/app/*` path with index.html): the current
 * location as a signal-free hook, `navigate()` for code, and `onLinkClick` so plain `<a href>` links route without
 * a page load (modifier clicks still open new tabs).
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'start' }
  | { page: 'chat'; sessionId: string }
  | { page: 'sessions' }
  | { page: 'session'; sessionId: string }
  | { page: 'agents' }
  | { page: 'agent'; agentId: string }
  | { page: 'missing' };

/** Parses a pathname into a route. */
export function parseRoute(pathname: string): Route {
  const parts = pathname.replace(/\/+$/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts[0] === 'app' && parts.length === 1)) return { page: 'start' };
  if (parts[0] !== 'app') return { page: 'missing' };
  if (parts[1] === 'chat' && parts.length === 2) return { page: 'start' };
  if (parts[1] === 'chat' && parts.length === 3) return { page: 'chat', sessionId: parts[2] };
  if (parts[1] === 'sessions' && parts.length === 2) return { page: 'sessions' };
  if (parts[1] === 'sessions' && parts.length === 3) return { page: 'session', sessionId: parts[2] };
  if (parts[1] === 'agents' && parts.length === 2) return { page: 'agents' };
  if (parts[1] === 'agents' && parts.length === 3) return { page: 'agent', agentId: parts[2] };
  return { page: 'missing' };
}

export const paths = {
  start: () => '/app/chat',
  chat: (id: string) => `/app/chat/${encodeURIComponent(id)}`,
  sessions: () => '/app/sessions',
  session: (id: string) => `/app/sessions/${encodeURIComponent(id)}`,
  agents: () => '/app/agents',
  /** The agent's map; with a session drawn on it (and one of its turns picked). */
  agent: (agentId: string, session?: { sessionId: string; turn?: number }) =>
    `/app/agents/${encodeURIComponent(agentId)}${session ? `?session=${encodeURIComponent(session.sessionId)}${session.turn === undefined ? '' : `&turn=${session.turn}`}` : ''}`,
};

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** Routes a click on an in-app link without reloading the page. */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.target as Element).closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/app') || a.target) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}

/** The current location (pathname + search), updated on navigation. */
export function useLocation(): { pathname: string; search: string } {
  const [loc, setLoc] = useState({ pathname: location.pathname, search: location.search });
  useEffect(() => {
    const update = () => setLoc({ pathname: location.pathname, search: location.search });
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return loc;
}
