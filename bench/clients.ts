import { io } from 'socket.io-client';
import WebSocket from 'ws';

/** One benchmark connection, whatever it talks to. */
export interface BenchClient {
  send(conversationId: string, body: string): Promise<boolean>;
  onMessage(handler: (data: { conversationId: string; seq: number; message: { id: string; body: string } }) => void): void;
  close(): void;
}

export async function socketIoClient(url: string, auth: Record<string, string>): Promise<BenchClient> {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  let n = 0;
  return {
    send: async (conversationId, body) => {
      const ack = await socket.timeout(30_000).emitWithAck('message:send', { conversationId, clientMsgId: `b${n++}-${Math.random()}`, body });
      return ack?.ok === true;
    },
    onMessage: (handler) => socket.on('message:new', handler),
    close: () => socket.disconnect(),
  };
}

export async function wsClient(url: string, token: string): Promise<BenchClient> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${token}`);
  const acks = new Map<number, (ok: boolean) => void>();
  let handler: Parameters<BenchClient['onMessage']>[0] = () => {};
  let id = 0;
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'ack') {
      acks.get(frame.id)?.(frame.ok);
      acks.delete(frame.id);
    } else if (frame.type === 'message:new') handler(frame.data);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    send: (conversationId, body) =>
      new Promise((resolve) => {
        const n = ++id;
        acks.set(n, resolve);
        ws.send(JSON.stringify({ type: 'message:send', id: n, data: { conversationId, clientMsgId: `w${n}-${Math.random()}`, body } }));
      }),
    onMessage: (h) => {
      handler = h;
    },
    close: () => ws.close(),
  };
}
