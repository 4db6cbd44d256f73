import assert from 'node:assert/strict';
import type { Socket as TcpSocket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { rawWs } from './helpers/graphql.ts';
import { type Harness, harness, tokenFor, uid } from './helpers/harness.ts';
import { listen, socketClient, wsClient } from './helpers/realtime.ts';

/**
 * Events that reach one connection in one tick (a committed batch of sends brings a member
 * several) leave in one writev, on /v1/ws and on Socket.IO alike, instead of a write syscall
 * each (engine.io alone writes the first packet at once and each of the rest when that write
 * completes). Counted where Node hands the server's TCP socket its bytes: one `_write` or
 * `_writev` per syscall.
 */
describe('events of one tick leave a connection together', () => {
  let h: Harness;
  let url: string;
  /**
   * Writes the server made to its TCP sockets since the last reset that carried the burst's
   * events: how many each carried. Other writes (a keepalive ping) are not the burst's.
   */
  let writes: number[] = [];
  /** What a write counts: the burst's events, or the frames of one GraphQL operation. */
  let marker = 'notification:updated';
  const events = (chunks: unknown[]) => chunks.filter((c) => String(c).includes(marker)).length;
  before(async () => {
    h = await harness(pgliteBackend, {}, {}, (app) => {
      app.http.server.on('connection', (tcp: TcpSocket) => {
        const t = tcp as TcpSocket & { _write: (chunk: unknown, ...rest: unknown[]) => void; _writev: (chunks: { chunk: unknown }[], cb: unknown) => void };
        const write = t._write.bind(t);
        const writev = t._writev.bind(t);
        t._write = (chunk, ...rest) => {
          if (events([chunk])) writes.push(1);
          write(chunk, ...rest);
        };
        t._writev = (chunks, cb) => {
          const n = events(chunks.map((c) => c.chunk));
          if (n) writes.push(n);
          writev(chunks, cb);
        };
      });
    });
    url = await listen(h);
  });
  after(() => h.close());

  const EVENTS = 6;
  let counted = 0;
  /** Emits EVENTS events to the user in one tick; resolves with the writes made until the client had them all. */
  async function burst(client: { userId: string; next(event: string, match: (d: any) => boolean): Promise<unknown> }) {
    writes = [];
    for (let i = 0; i < EVENTS; i++) h.app.hub.emitTo([client.userId], 'notification:updated', { unreadCount: ++counted });
    const last = counted;
    await client.next('notification:updated', (d) => d.unreadCount === last);
    return writes;
  }
  const counts = (client: { events: { event: string; data: any }[] }) =>
    client.events.filter((e) => e.event === 'notification:updated').map((e) => e.data.unreadCount);

  for (const [gateway, connect] of [
    ['/v1/ws', wsClient],
    ['Socket.IO', socketClient],
  ] as const) {
    test(`${gateway}: one writev holding every event`, async () => {
      marker = 'notification:updated';
      const client = await connect(url, uid());
      try {
        assert.deepEqual(await burst(client), [EVENTS]);
        // The wait ends with the tick: a second burst is written as its own writev.
        assert.deepEqual(await burst(client), [EVENTS]);
        assert.deepEqual(counts(client), Array.from({ length: 2 * EVENTS }, (_, i) => counted - 2 * EVENTS + i + 1));
      } finally {
        await client.close();
      }
    });
  }

  // graphql-ws sends an operation's result, then its complete, each once the last was handed
  // over: written as they came, they were two writes, and a member's events of one batch a
  // write each (the gateway's writes, GraphQL's ws.ts).
  test('GraphQL: the result of an operation and its complete in one write', async () => {
    const c = await rawWs(url);
    try {
      c.send({ type: 'connection_init', payload: { token: await tokenFor(uid()) } });
      assert.equal((await c.next()).type, 'connection_ack');
      for (const id of ['q1', 'q2']) {
        marker = `"id":"${id}"`;
        writes = [];
        c.send({ id, type: 'subscribe', payload: { query: '{ me { id } }' } });
        assert.equal((await c.next()).type, 'next');
        assert.deepEqual(await c.next(), { id, type: 'complete' });
        assert.deepEqual(writes, [2]);
      }
    } finally {
      c.ws.terminate();
    }
  });
});
