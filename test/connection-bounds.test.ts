import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { heldBytes, MB } from './helpers/memory.ts';
import { listen, syncAll, wsClient } from './helpers/realtime.ts';

const MAX_BUFFERED = 256 * 1024;
const PAGE_BYTES = 64 * 1024;
/** What the server may hold for one hostile client: its send buffer, a page being built, and noise. */
const BOUND = 2 * MAX_BUFFERED + 2 * PAGE_BYTES + 4 * MB;

/**
 * Issue 8 §1: every byte queued to a realtime connection counts toward
 * PARLEY_MAX_BUFFERED_BYTES, whatever produced it. The repro: a member of a conversation
 * of large messages sends `sync` again and again and never reads. The server must cut it
 * (ws 4008, Socket.IO disconnect) while what it holds stays bounded, and the client,
 * back, syncs everything in pages bounded in bytes. HTTP likewise: a client pipelining
 * requests it never reads, or sending a body it never finishes, holds nothing for long.
 */
describe('connections are bounded in bytes and time, whatever fills them', () => {
  let h: Harness;
  let url: string;
  let conversationId: string;
  const readers = { ws: uid('reader'), io: uid('reader'), sync: uid('reader'), budget: uid('reader'), http: uid('reader') };
  const ids: string[] = [];
  before(async () => {
    h = await harness(pgliteBackend, {
      PARLEY_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
      PARLEY_SYNC_PAGE_BYTES: String(PAGE_BYTES),
      // The hostile client here is within its frame budget: the byte bound alone must stop it.
      PARLEY_FRAME_BURST: '10000',
      PARLEY_FRAME_RATE: '10000',
    });
    url = await listen(h);
    const owner = h.admin(uid('owner'));
    conversationId = (await owner.post('/v1/conversations', { kind: 'group', members: Object.values(readers) })).body.conversation.id;
    const body = '😀'.repeat(10_000); // 40 KB of UTF-8 a message
    for (let i = 0; i < 30; i++) ids.push((await owner.post(`/v1/conversations/${conversationId}/messages`, { clientMsgId: randomUUID(), body })).body.message.id);
  });
  after(() => h.close());

  /** Sends `fire()` until `cut()`, asserting after each that the server holds less than BOUND more than before. */
  async function attack(fire: () => unknown, cut: () => boolean) {
    const baseline = await heldBytes();
    let peak = 0;
    for (let i = 0; i < 3000 && !cut(); i++) {
      await fire();
      await new Promise((r) => setTimeout(r, 5));
      if (i % 10 === 0) {
        peak = Math.max(peak, (await heldBytes()) - baseline);
        assert.ok(peak < BOUND, `the server holds ${(peak / MB).toFixed(1)} MB more for one client (bound ${(BOUND / MB).toFixed(1)} MB)`);
      }
    }
    await waitFor(cut, 30_000, 'the connection to be cut');
    return peak;
  }

  test('plain WebSocket: sync replies count; the client is closed 4008, and syncs everything back in byte-bounded pages', async () => {
    const userId = readers.ws;
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${await tokenFor(userId)}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await waitFor(() => h.app.hub.of(userId).size === 1, 30_000, 'the session');
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    raw.resume = () => raw; // ws resumes its socket when its parser drains: keep it stalled
    ws.on('error', () => {});
    let n = 0;
    try {
      await attack(
        () => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'sync', id: ++n, data: { cursors: { [conversationId]: 0 }, limit: 1000 } })),
        () => h.app.hub.of(userId).size === 0,
      );
    } finally {
      raw.destroy();
    }

    // Back: pages of at most PAGE_BYTES (one change at least), hasMore until the end, nothing missed.
    const again = await wsClient(url, userId);
    const changes = await syncAll(again, conversationId, 0, (page) => {
      const bytes = Buffer.byteLength(JSON.stringify(page));
      assert.ok(page.length === 1 || bytes <= PAGE_BYTES, `a page of ${page.length} changes and ${bytes} bytes`);
    });
    const seen = changes.filter((c) => c.type === 'message:new').map((c) => c.data.message.id);
    assert.deepEqual(seen, ids);
    await again.close();
  });

  test('Socket.IO: acks with sync replies count; the client is disconnected', async () => {
    const userId = readers.io;
    const socket = io(url, { auth: { token: await tokenFor(userId) }, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise((resolve, reject) => socket.once('connect', () => resolve(undefined)).once('connect_error', reject));
    await waitFor(() => h.app.hub.of(userId).size === 1, 30_000, 'the session');
    const raw = (socket.io.engine.transport as unknown as { ws: { _socket: import('node:net').Socket } }).ws._socket;
    raw.pause();
    raw.resume = () => raw;
    try {
      await attack(
        () => socket.emit('sync', { cursors: { [conversationId]: 0 }, limit: 1000 }, () => {}),
        () => h.app.hub.of(userId).size === 0,
      );
    } finally {
      raw.destroy();
      socket.close();
    }
  });

  test('one sync at a time per connection', async () => {
    const client = await wsClient(url, readers.sync);
    try {
      const acks = await Promise.all([0, 1, 2].map(() => client.send('sync', { cursors: { [conversationId]: 0 }, limit: 1000 })));
      assert.equal(acks.filter((a) => a.ok).length, 1);
      assert.deepEqual(acks.filter((a) => !a.ok).map((a) => a.error?.code), ['rate_limited', 'rate_limited']);
    } finally {
      await client.close();
    }
  });

  test('a sync pays the frame budget (PARLEY_FRAME_BURST, PARLEY_FRAME_RATE) by its size: one frame per 64 KiB', async () => {
    const tight = await harness({ store: h.store }, { PARLEY_FRAME_BURST: '20', PARLEY_FRAME_RATE: '1' });
    const client = await wsClient(await listen(tight), readers.budget);
    try {
      const sync = await client.send('sync', { cursors: { [conversationId]: 0 }, limit: 1000 });
      const bytes = Buffer.byteLength(JSON.stringify(sync.data));
      assert.ok(bytes > 15 * 64 * 1024, `a page of ${bytes} bytes`);
      // 20 frames, less 1 + 15 for the sync: most of these are refused.
      const acks = await Promise.all(Array.from({ length: 19 }, () => client.send('heartbeat')));
      const refused = acks.filter((a) => a.error?.code === 'rate_limited').length;
      assert.ok(refused >= 10, `${refused} of 19 frames refused after a ${bytes}-byte sync`);
    } finally {
      await client.close();
      await tight.close();
    }
  });

  /** A raw HTTP client that sends `requests` and never reads; resolves once the server closed it. */
  async function neverReads(requests: string | Buffer) {
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.pause();
    socket.on('error', () => {});
    let closed = false;
    socket.once('close', () => (closed = true));
    socket.write(requests);
    return { socket, closed: () => closed };
  }

  test('HTTP: 100 pipelined GET /v1/sync never read: answered one at a time, the client cut, the bytes held bounded', async () => {
    const token = await tokenFor(readers.http);
    const request = `GET /v1/sync?cursors=${conversationId}:0&limit=1000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    const baseline = await heldBytes();
    const client = await neverReads(request.repeat(100));
    // At most MAX_PIPELINED wait; the rest close the connection.
    await waitFor(client.closed, 30_000, 'the pipelining client to be cut');
    const held = (await heldBytes()) - baseline;
    assert.ok(held < BOUND, `the server holds ${(held / MB).toFixed(1)} MB more (bound ${(BOUND / MB).toFixed(1)} MB)`);
    client.socket.destroy();
  });

  test('HTTP: 4,000 pipelined GET /openapi.json never read: the client is cut, the bytes held bounded', async () => {
    // The document is built once, on first use. One response may wait unsent (as text and as
    // bytes), and Node parses a whole 64 KiB chunk of requests (~1,800 here) before the cut.
    const doc = (await fetch(`${url}/openapi.json`).then((r) => r.arrayBuffer())).byteLength;
    const bound = 3 * doc + 8 * MB;
    const baseline = await heldBytes();
    let peak = 0;
    const client = await neverReads('GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(4000));
    for (let i = 0; i < 100 && !client.closed(); i++) {
      peak = Math.max(peak, (await heldBytes()) - baseline);
    }
    await waitFor(client.closed, 30_000, 'the pipelining client to be cut');
    const after = (await heldBytes()) - baseline;
    assert.ok(peak < bound, `the server held ${(peak / MB).toFixed(1)} MB more (bound ${(bound / MB).toFixed(1)} MB)`);
    assert.ok(after < 2 * MB, `the server still holds ${(after / MB).toFixed(1)} MB more once the client is gone`);
    client.socket.destroy();
  });

  test('HTTP: pipelining within bounds still gets every answer, in order', async () => {
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10));
    await waitFor(() => (text.match(/HTTP\/1\.1 200/g) ?? []).length === 10, 30_000, 'ten answers');
    socket.destroy();
  });

  test('HTTP: bodies that never finish, headers that never end, idle keep-alive connections: all timed out', async () => {
    const quick = await harness({ store: h.store }, {
      PARLEY_HTTP_HEADERS_TIMEOUT_MS: '300',
      PARLEY_HTTP_REQUEST_TIMEOUT_MS: '600',
      PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS: '300',
      PARLEY_HTTP_IDLE_TIMEOUT_MS: '5000',
    });
    const quickUrl = await listen(quick);
    const { port } = new URL(quickUrl);
    const open = async (data: string) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.on('error', () => {});
      let text = '';
      let closed = false;
      socket.on('data', (d) => (text += d));
      socket.once('close', () => (closed = true));
      socket.write(data);
      return { socket, text: () => text, closed: () => closed };
    };
    try {
      const baseline = await heldBytes();
      const token = await tokenFor(readers.http);
      const half = 'x'.repeat(50_000);
      const posts = await Promise.all(
        Array.from({ length: 100 }, () =>
          open(`POST /v1/conversations/${conversationId}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n${half}`),
        ),
      );
      const headers = await open('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      const keepAlive = await open('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => posts.every((p) => p.closed()), 20_000, 'every unfinished body to be timed out');
      await waitFor(() => headers.closed() && keepAlive.closed(), 20_000, 'the unfinished headers and the idle keep-alive connection to be closed');
      assert.match(keepAlive.text(), /^HTTP\/1\.1 200/);
      assert.ok(posts.every((p) => /^HTTP\/1\.1 408/.test(p.text())), posts[0]!.text().slice(0, 80));
      const held = (await heldBytes()) - baseline;
      assert.ok(held < BOUND, `the server holds ${(held / MB).toFixed(1)} MB more (bound ${(BOUND / MB).toFixed(1)} MB)`);
      assert.equal((await quick.as(readers.http).get(`/v1/conversations/${conversationId}/messages?limit=1`)).body.messages[0].body.length, 20_000, 'nothing was written');
    } finally {
      await quick.close();
    }
  });
});
