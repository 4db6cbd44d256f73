import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { Harness } from './harness.ts';
import { tokenFor } from './harness.ts';

/**
 * How long an awaited event or ack may take before the test fails. Generous: it only
 * bounds a failure, and a busy machine can take seconds to deliver what is correct.
 */
const EVENT_DEADLINE_MS = 30_000;

/** Listens on a free loopback port (realtime tests need real sockets) and returns the base URL. */
export async function listen(h: Harness): Promise<string> {
  const address = await h.app.http.listen({ port: 0, host: '127.0.0.1' });
  return address;
}

/** A realtime client over either gateway with one API: commands answered by acks, events recorded. */
export interface RtClient {
  userId: string;
  events: { event: string; data: any }[];
  send<T = any>(command: string, data?: unknown): Promise<{ ok: boolean; data?: T; error?: { code: string; message: string } }>;
  /** Resolves with the first recorded event (past or future) matching, or fails at the deadline. */
  next(event: string, match?: (data: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

function recorder() {
  const events: { event: string; data: any }[] = [];
  const waiters = new Set<{ event: string; match: (d: any) => boolean; resolve: (d: any) => void }>();
  const record = (event: string, data: any) => {
    events.push({ event, data });
    for (const w of waiters) {
      if (w.event === event && w.match(data)) {
        waiters.delete(w);
        w.resolve(data);
      }
    }
  };
  const next = (event: string, match: (d: any) => boolean = () => true, timeoutMs = EVENT_DEADLINE_MS) => {
    const seen = events.find((e) => e.event === event && match(e.data));
    if (seen) return Promise.resolve(seen.data);
    return new Promise((resolve, reject) => {
      const w = {
        event,
        match,
        resolve: (d: any) => {
          clearTimeout(timer);
          resolve(d);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`no ${event} event within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(w);
    });
  };
  return { events, record, next };
}

export async function socketClient(url: string, userId: string, opts: { token?: string; extraHeaders?: Record<string, string> } = {}): Promise<RtClient & { socket: Socket }> {
  const token = opts.token ?? (await tokenFor(userId));
  const socket: Socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, ...(opts.extraHeaders ? { extraHeaders: opts.extraHeaders } : {}) });
  const r = recorder();
  socket.onAny((event, data) => r.record(event, data));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  await r.next('ready');
  return {
    socket,
    userId,
    events: r.events,
    send: (command, data = {}) => socket.timeout(EVENT_DEADLINE_MS).emitWithAck(command, data),
    next: r.next,
    close: async () => {
      socket.disconnect();
    },
  };
}

export async function wsClient(url: string, userId: string, opts: { token?: string } = {}): Promise<RtClient & { ws: WebSocket }> {
  const token = opts.token ?? (await tokenFor(userId));
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(token)}`);
  const r = recorder();
  const acks = new Map<number, (a: any) => void>();
  let nextId = 1;
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'ack' && acks.has(frame.id)) {
      acks.get(frame.id)!(frame);
      acks.delete(frame.id);
    } else r.record(frame.type, frame.data ?? frame.error);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await r.next('ready');
  return {
    ws,
    userId,
    events: r.events,
    send: (command, data = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => reject(new Error(`no ack for ${command}`)), EVENT_DEADLINE_MS);
        acks.set(id, (frame) => {
          clearTimeout(timer);
          const { type: _t, id: _i, ...ack } = frame;
          resolve(ack);
        });
        ws.send(JSON.stringify({ type: command, id, data }));
      }),
    next: r.next,
    close: () =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

/** Both gateways, so each realtime behaviour is checked over Socket.IO and plain WebSocket. */
export const gateways = [
  { name: 'socket.io', connect: socketClient },
  { name: 'ws', connect: wsClient },
] as const;

/**
 * Syncs one conversation from `cursor` to the end, page after page while `hasMore`, as a
 * client does after a reconnect; `onPage` sees each page. Answers every change, in order.
 * Like a real client it waits out `rate_limited` (each page is paid for by its size: a long
 * catch-up of large messages outruns the frame budget) and asks for that page again.
 */
export async function syncAll(client: RtClient, conversationId: string, cursor = 0, onPage: (changes: any[]) => void = () => {}): Promise<any[]> {
  const all: any[] = [];
  for (let pages = 0; ; pages++) {
    if (pages > 1000) throw new Error('sync never finished');
    const ack = await client.send('sync', { cursors: { [conversationId]: cursor }, limit: 1000 });
    if (!ack.ok && ack.error?.code === 'rate_limited') {
      await new Promise((r) => setTimeout(r, ((ack.error as { retryAfter?: number }).retryAfter ?? 1) * 1000));
      continue;
    }
    if (!ack.ok) throw new Error(`sync failed: ${JSON.stringify(ack.error)}`);
    onPage(ack.data.changes);
    all.push(...ack.data.changes);
    cursor = ack.data.changes.at(-1)?.seq ?? cursor;
    if (!ack.data.hasMore) return all;
  }
}
