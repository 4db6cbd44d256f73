// One benchmark connection, over Socket.IO or the plain WebSocket protocol (Parley's, or the relay's).
import { io } from 'socket.io-client';
import WebSocket from 'ws';

export interface Delivery {
  conversationId: string;
  seq: number;
  message: { id: string; body: string; senderId?: string };
}

/** What a send's ack said: the seq it took, or why it failed. */
export type SendResult = { ok: true; seq: number } | { ok: false; code: string };

export interface BenchClient {
  /** Sends without waiting for earlier sends' acks (pipelined). */
  send(conversationId: string, clientMsgId: string, body: string): Promise<SendResult>;
  onMessage(handler: (d: Delivery) => void): void;
  /** Sends any other command, answered by its ack. */
  command(name: string, data: unknown): Promise<unknown>;
  /** Events received so far, by name (presence, typing...); `disconnect` counts a connection the server dropped. */
  readonly counts: Map<string, number>;
  close(): void;
}

const count = (counts: Map<string, number>, name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);

const toResult = (ack: { ok?: boolean; data?: { seq?: number }; error?: { code?: string } } | undefined): SendResult =>
  ack?.ok ? { ok: true, seq: Number(ack.data?.seq) } : { ok: false, code: ack?.error?.code ?? 'no_ack' };

export async function socketIoClient(url: string, token: string): Promise<BenchClient> {
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const counts = new Map<string, number>();
  socket.onAny((name: string) => count(counts, name));
  let closing = false;
  socket.on('disconnect', () => closing || count(counts, 'disconnect'));
  return {
    send: (conversationId, clientMsgId, body) =>
      new Promise((resolve) => socket.emit('message:send', { conversationId, clientMsgId, body }, (ack: Parameters<typeof toResult>[0]) => resolve(toResult(ack)))),
    onMessage: (handler) => socket.on('message:new', handler),
    command: (name, data) => new Promise((resolve) => socket.emit(name, data, resolve)),
    counts,
    close: () => {
      closing = true;
      socket.disconnect();
    },
  };
}

/** Parley's /v1/ws (with a token) or the relay's (with a room). */
export async function wsClient(url: string, query: string): Promise<BenchClient> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws?${query}`, { perMessageDeflate: false });
  const acks = new Map<number, (ack: never) => void>();
  const counts = new Map<string, number>();
  let handler: (d: Delivery) => void = () => {};
  let id = 0;
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'ack') {
      acks.get(frame.id)?.(frame as never);
      acks.delete(frame.id);
      return;
    }
    count(counts, frame.type);
    if (frame.type === 'message:new') handler(frame.data);
  });
  let closing = false;
  ws.on('close', () => {
    if (!closing) count(counts, 'disconnect');
    for (const resolve of acks.values()) resolve({ ok: false, error: { code: 'closed' } } as never);
    acks.clear();
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const command = (name: string, data: unknown) =>
    new Promise<unknown>((resolve) => {
      const n = ++id;
      acks.set(n, resolve);
      ws.send(JSON.stringify({ type: name, id: n, data }));
    });
  return {
    send: async (conversationId, clientMsgId, body) => toResult((await command('message:send', { conversationId, clientMsgId, body })) as never),
    onMessage: (h) => {
      handler = h;
    },
    command,
    counts,
    close: () => {
      closing = true;
      ws.close();
    },
  };
}

/** Opens `count` clients, `parallel` handshakes at a time. */
export async function connectAll(count: number, make: (i: number) => Promise<BenchClient>, parallel = 100): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  for (let i = 0; i < count; i += parallel) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, j) => make(i + j)))));
  }
  return clients;
}
