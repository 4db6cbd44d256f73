import { CLOSE_CODES, isTerminalCloseCode, PROTOCOL_VERSION } from '../../protocol/connection.ts';
import { type BackoffOptions, backoffDelay } from './backoff.ts';
import { createStore } from './store.ts';
import type { TokenSource } from './token.ts';
import type { CloseInfo, OpenTransport, Ready, Transport, TransportHandlers } from './transport.ts';

/**
 * - `connecting`: the first attempt is under way.
 * - `connected`: live; `synced` turns true once everything missed has been applied.
 * - `reconnecting`: the connection dropped; attempts go on with backoff (`retryAt`).
 * - `offline`: the browser says there is no network; it retries the moment it is back.
 * - `closed`: terminal: `close()` was called, or the server refused for a reason retrying
 *   cannot fix (close codes 4500-4999: bad token, unsupported protocol). See `closed`.
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Connected and caught up: every missed change applied. */
  synced: boolean;
  /** Failed attempts since the last success. */
  attempt: number;
  /** While reconnecting: when the next attempt starts (ms since epoch). */
  retryAt: number | null;
  /** Once closed: why (`client_closed`, or the server's code and close code). */
  closed: { code: string; closeCode: number | null } | null;
  userId: string | null;
  connectionId: string | null;
}

interface ConnectionDeps {
  url: string;
  open: () => Promise<OpenTransport>;
  tokens: TokenSource;
  backoff?: BackoffOptions;
  timeoutMs: number;
  /** Runs before the first attempt (loads persisted state). */
  init: Promise<unknown>;
  event(name: unknown, data: unknown): void;
  malformed(): void;
  /** A new connection is ready: sync, flush the outbox. */
  connected(transport: Transport, ready: Ready): void;
  onError(err: unknown): void;
}

type Listen = (type: string, fn: () => void) => void;
const win = globalThis as { addEventListener?: Listen; removeEventListener?: Listen; navigator?: { onLine?: boolean } };
const online = () => win.navigator?.onLine !== false;

/**
 * One connection kept alive over either transport: backoff with full jitter between
 * attempts, an immediate attempt when the browser comes back online, a fresh token when
 * the server says the old one expired, and a stop on terminal close codes.
 */
export function createConnection(deps: ConnectionDeps) {
  const state = createStore<ConnectionState>({ status: 'connecting', synced: false, attempt: 0, retryAt: null, closed: null, userId: null, connectionId: null });
  const set = (patch: Partial<ConnectionState>) => state.set((s) => ({ ...s, ...patch }));
  let transport: Transport | null = null;
  let generation = 0;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The generation of the attempt under way (0: none). An attempt the network dropped
   *  (`offline`) is superseded: it may hang until its timeout, and must not hold back the
   *  attempt `online` starts. */
  let opening = 0;
  let stopped = false;
  let everConnected = false;
  let refreshedForAuth = false;
  /** The token the current connection was opened with. */
  let usedToken: string | null = null;

  async function connect() {
    clearTimeout(timer);
    if (stopped || transport || (opening && opening === generation)) return;
    if (!online()) return set({ status: 'offline', retryAt: null });
    const gen = ++generation;
    opening = gen;
    set({ status: everConnected ? 'reconnecting' : 'connecting', retryAt: null });
    try {
      await deps.init;
      const token = await deps.tokens.get();
      usedToken = token;
      const handlers: TransportHandlers = {
        event: (name, data) => gen === generation && deps.event(name, data),
        malformed: () => gen === generation && deps.malformed(),
        closed: (info) => gen === generation && dropped(info),
      };
      const open = await deps.open();
      const { transport: t, ready } = await open({ url: deps.url, token, version: PROTOCOL_VERSION, handlers, timeoutMs: deps.timeoutMs });
      if (stopped || gen !== generation) return t.close();
      transport = t;
      attempt = 0;
      refreshedForAuth = false;
      everConnected = true;
      set({ status: 'connected', synced: false, attempt: 0, userId: ready.userId, connectionId: ready.connectionId });
      deps.connected(t, ready);
    } catch (err) {
      const info = err as Partial<CloseInfo>;
      if (gen === generation) dropped({ code: typeof info.code === 'number' ? info.code : 1006, reason: String(info.reason ?? err) });
    } finally {
      if (opening === gen) opening = 0;
    }
  }

  function dropped(info: CloseInfo) {
    transport = null;
    generation++;
    set({ synced: false, connectionId: null });
    if (stopped) return;
    const auth = info.code === CLOSE_CODES.tokenExpired || info.code === CLOSE_CODES.unauthorized;
    if (auth && deps.tokens.canRefresh && !refreshedForAuth) {
      // One immediate attempt with a new token (already fetched ahead of exp, usually);
      // refused again, it is terminal.
      refreshedForAuth = true;
      set({ status: 'reconnecting' });
      (deps.tokens.current() !== usedToken ? Promise.resolve() : deps.tokens.refresh()).then(connect, (err) => {
        deps.onError(err);
        retry();
      });
      return;
    }
    if (isTerminalCloseCode(info.code)) return stop({ code: info.reason, closeCode: info.code });
    retry();
  }

  function retry() {
    if (!online()) return set({ status: 'offline', retryAt: null });
    const delay = backoffDelay(attempt++, deps.backoff);
    set({ status: everConnected ? 'reconnecting' : 'connecting', attempt, retryAt: Date.now() + delay });
    timer = setTimeout(connect, delay);
  }

  function stop(closed: NonNullable<ConnectionState['closed']>) {
    stopped = true;
    clearTimeout(timer);
    generation++;
    transport?.close();
    transport = null;
    win.removeEventListener?.('online', onOnline);
    win.removeEventListener?.('offline', onOffline);
    set({ status: 'closed', synced: false, retryAt: null, closed, connectionId: null });
  }

  const onOnline = () => {
    attempt = 0;
    void connect();
  };
  // The OS says the network is gone: a socket may linger without erroring for a long time,
  // so drop it now and let sends queue in the outbox until `online`.
  const onOffline = () => {
    clearTimeout(timer);
    generation++;
    transport?.close();
    transport = null;
    set({ status: 'offline', synced: false, retryAt: null, connectionId: null });
  };
  win.addEventListener?.('online', onOnline);
  win.addEventListener?.('offline', onOffline);
  void connect();

  return {
    state,
    transport: () => transport,
    markSynced: () => set({ synced: true }),
    /** Tries now instead of waiting out the backoff (a "retry" button). */
    reconnect: () => {
      attempt = 0;
      void connect();
    },
    close: () => stop({ code: 'client_closed', closeCode: null }),
  };
}

export type Connection = ReturnType<typeof createConnection>;
