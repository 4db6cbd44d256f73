import type { Ack } from '../../protocol/event-map.ts';
import { closeError, DROPPED, isReady, type OpenTransport, type Transport } from './transport.ts';

/** What the SDK needs of a WebSocket: the browser's, or the `ws` package's on Node 20. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A quiet connection proves it is alive this often; a missed answer means it is gone. */
const HEARTBEAT_MS = 25_000;

/** The plain WebSocket gateway at /v1/ws: `{ type, id, data }` frames, acks matched by id. */
export function wsTransport(WebSocketImpl?: WebSocketConstructor): OpenTransport {
  return ({ url, token, version, handlers, timeoutMs }) =>
    new Promise((resolve, reject) => {
      const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (!Impl) return reject(closeError(DROPPED, 'no WebSocket implementation (pass options.WebSocket on Node 20)'));
      const target = `${url.replace(/^http/, 'ws').replace(/\/$/, '')}/v1/ws?token=${encodeURIComponent(token)}&v=${version}`;
      const ws = new Impl(target);
      const acks = new Map<number, { done(ack: Ack): void; fail(err: Error): void }>();
      let nextId = 1;
      let open = false;
      let ended = false;
      let heartbeat: ReturnType<typeof setInterval> | undefined;

      const end = (code: number, reason: string) => {
        if (ended) return;
        ended = true;
        clearTimeout(openTimer);
        clearInterval(heartbeat);
        for (const pending of acks.values()) pending.fail(closeError(code, reason));
        acks.clear();
        if (open) handlers.closed({ code, reason });
        else reject(closeError(code, reason));
      };
      const openTimer = setTimeout(() => {
        end(DROPPED, 'connect timeout');
        ws.close();
      }, timeoutMs);

      const transport: Transport = {
        request(name, data, ms) {
          if (ended) return Promise.reject(closeError(DROPPED, 'disconnected'));
          return new Promise((done, fail) => {
            const id = nextId++;
            const timer = setTimeout(() => {
              acks.delete(id);
              fail(closeError(DROPPED, 'timeout'));
            }, ms);
            const stop = <T>(f: (v: T) => void) => (v: T) => {
              clearTimeout(timer);
              f(v);
            };
            acks.set(id, { done: stop(done), fail: stop(fail) });
            ws.send(JSON.stringify({ type: name, id, data }));
          });
        },
        close() {
          open = false; // ended by us: no `closed` callback
          end(1000, 'closed');
          ws.close(1000);
        },
      };

      ws.onmessage = (ev) => {
        let frame: { type?: unknown; id?: unknown; data?: unknown } | null;
        try {
          frame = typeof ev.data === 'string' ? JSON.parse(ev.data) : null;
        } catch {
          frame = null;
        }
        if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return handlers.malformed();
        if (frame.type === 'ack') {
          const pending = acks.get(frame.id as number);
          acks.delete(frame.id as number);
          return pending?.done(frame as unknown as Ack);
        }
        if (frame.type === 'ready' && !open && isReady(frame.data)) {
          open = true;
          clearTimeout(openTimer);
          heartbeat = setInterval(() => {
            transport.request('heartbeat', {}, 10_000).catch(() => {
              end(DROPPED, 'heartbeat timeout');
              ws.close();
            });
          }, HEARTBEAT_MS);
          return resolve({ transport, ready: frame.data });
        }
        handlers.event(frame.type, frame.data);
      };
      ws.onclose = (ev) => end(ev.code || DROPPED, ev.reason || 'closed');
      ws.onerror = () => {};
    });
}
