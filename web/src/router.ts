import { useEffect, useSyncExternalStore } from 'react';

/** The app's pages; anything else shows the conversation list. */
export type Route =
  | { name: 'home' }
  | { name: 'conversation'; id: string }
  | { name: 'members'; id: string }
  | { name: 'new' }
  | { name: 'notifications' }
  | { name: 'preferences' };

export function parseRoute(pathname: string): Route {
  const conversation = /^\/c\/([^/]+)\/?$/.exec(pathname);
  if (conversation) return { name: 'conversation', id: decodeURIComponent(conversation[1]!) };
  const members = /^\/c\/([^/]+)\/members\/?$/.exec(pathname);
  if (members) return { name: 'members', id: decodeURIComponent(members[1]!) };
  if (pathname === '/new') return { name: 'new' };
  if (pathname === '/notifications') return { name: 'notifications' };
  if (pathname === '/preferences') return { name: 'preferences' };
  return { name: 'home' };
}

const listeners = new Set<() => void>();
const notify = () => {
  for (const l of listeners) l();
};
window.addEventListener('popstate', notify);

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (path === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  notify();
}

const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

/** The current route; re-renders on navigation (links, back and forward). */
export function useRoute(): Route {
  const path = useSyncExternalStore(subscribe, () => location.pathname);
  return parseRoute(path);
}

/** Sets the page title; the unread total goes first so it shows in a tab. */
export function useTitle(title: string, unread: number): void {
  useEffect(() => {
    document.title = `${unread > 0 ? `(${unread}) ` : ''}${title} · Parley`;
  }, [title, unread]);
}
