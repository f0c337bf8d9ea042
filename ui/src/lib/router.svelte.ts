/** A plain hash router: "#/customers/12?x=1" → path "/customers/12", query x=1. */
export const route = $state<{ path: string; query: Record<string, string> }>({ path: '/', query: {} });

let keepScroll = false;

function read(): void {
  const raw = (typeof location === 'undefined' ? '' : location.hash).replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  // A new screen starts at its top, not where the previous one was scrolled.
  if (path !== route.path && typeof window !== 'undefined' && !keepScroll) window.scrollTo(0, 0);
  keepScroll = false;
  route.path = path;
  route.query = Object.fromEntries(new URLSearchParams(q >= 0 ? raw.slice(q + 1) : ''));
}

export function startRouter(): () => void {
  read();
  window.addEventListener('hashchange', read);
  return () => window.removeEventListener('hashchange', read);
}

export function navigate(path: string): void {
  if (location.hash === `#${path}`) read();
  else location.hash = path;
}

/**
 * Give the current screen its new address (a record just created gets its id) without a new
 * history entry and without scrolling back to the top.
 */
export function replaceRoute(path: string): void {
  history.replaceState(history.state, '', `#${path}`);
  keepScroll = true;
  read();
}

export function href(path: string): string {
  return `#${path}`;
}

/** Match "/customers/:id" against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}
