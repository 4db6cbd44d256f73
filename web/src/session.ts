import { useSyncExternalStore } from 'react';
import type { DevLoginResult } from '../../protocol/dev-login.ts';
import { readRuntimeConfig } from './runtime-config.ts';

/** Who is signed in in this tab, and with what token. */
export interface Session {
  token: string;
  userId: string;
  name: string | null;
  /** Epoch ms. */
  expiresAt: number;
  /** `dev`: the development sign-in (kept across tabs); `embed`: handed over by the host app (this tab only). */
  source: 'dev' | 'embed';
}

const KEY = 'parley.session';
const config = readRuntimeConfig();
const listeners = new Set<() => void>();
let current: Session | null = null;

/** The claims the app shows (the server checks the signature; the page only reads). */
export function decodeToken(token: string, source: Session['source']): Session | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown; name?: unknown; exp?: unknown };
    if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return null;
    return { token, userId: payload.sub, name: typeof payload.name === 'string' ? payload.name : null, expiresAt: payload.exp * 1000, source };
  } catch {
    return null;
  }
}

const usable = (s: Session | null): s is Session => !!s && s.expiresAt > Date.now() + 5_000;

function storageFor(source: Session['source']): Storage {
  return source === 'dev' ? localStorage : sessionStorage;
}

function load(): Session | null {
  for (const storage of [sessionStorage, localStorage]) {
    try {
      const s = JSON.parse(storage.getItem(KEY) ?? 'null') as Session | null;
      if (usable(s)) return s;
    } catch {}
  }
  return null;
}

function set(next: Session | null): void {
  current = next;
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  if (next) storageFor(next.source).setItem(KEY, JSON.stringify(next));
  scheduleRenewal();
  for (const l of listeners) l();
}

/** Asks each allowed parent window for a token (docs/web.md). */
export function requestToken(): void {
  if (window.parent === window) return;
  for (const origin of config.embedOrigins) window.parent.postMessage({ type: 'parley:token-request' }, origin);
}

/** Tells the host page the unread total, for its own badge. */
export function announceUnread(total: number): void {
  if (window.parent === window) return;
  for (const origin of config.embedOrigins) window.parent.postMessage({ type: 'parley:unread', total }, origin);
}

let renewal: ReturnType<typeof setTimeout> | undefined;
function scheduleRenewal(): void {
  clearTimeout(renewal);
  if (current?.source !== 'embed') return;
  // A minute ahead, so the socket never reconnects with an expired token.
  renewal = setTimeout(requestToken, Math.max(0, current.expiresAt - Date.now() - 60_000));
}

export function signOut(): void {
  set(null);
  requestToken();
}

/** The token was refused by the server: drop it and ask for another. */
export function tokenRefused(): void {
  signOut();
}

export async function devSignIn(userId: string, name: string): Promise<void> {
  const res = await fetch('/v1/dev/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(name ? { userId, name } : { userId }),
  });
  const body = (await res.json()) as DevLoginResult & { error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `Sign-in failed (${res.status})`);
  const session = decodeToken(body.token, 'dev');
  if (!session) throw new Error('The server answered with a token the app cannot read');
  set(session);
}

function takeFragmentToken(): Session | null {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (!token) return null;
  // Out of the address bar (and history) before anything else runs.
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  return decodeToken(token, 'embed');
}

function listenToParent(): void {
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (event.source !== window.parent || !config.embedOrigins.includes(event.origin)) return;
    const data = event.data as { type?: unknown; token?: unknown } | null;
    if (data?.type === 'parley:token' && typeof data.token === 'string') {
      const session = decodeToken(data.token, 'embed');
      if (usable(session)) set(session);
    } else if (data?.type === 'parley:sign-out') {
      set(null);
    }
  });
}

/** Reads the token the page was opened with, or the one kept from before; listens to the host page. */
export function startSession(): void {
  const fromFragment = takeFragmentToken();
  current = usable(fromFragment) ? fromFragment : load();
  if (current) storageFor(current.source).setItem(KEY, JSON.stringify(current));
  listenToParent();
  scheduleRenewal();
  if (!current) requestToken();
}

const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, () => current);
}

const sessionStore = { get: (): Session | null => current, subscribe };
/** The session as a store, for code outside React's render (the SDK's token provider). */
export function useSessionStore(): typeof sessionStore {
  return sessionStore;
}

export const runtimeConfig = config;
