import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { CLOSE_CODES } from '../protocol/events.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, send, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { listen, socketClient, wsClient } from './helpers/realtime.ts';

const closeOf = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

describe('gateway edges', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend, { PARLEY_CORS_ORIGINS: 'https://app.example', PARLEY_PING_INTERVAL_MS: '300', PARLEY_JWT_CLOCK_TOLERANCE: '0' });
    url = await listen(h);
  });
  after(() => h.close());

  test('socket.io refuses bad tokens before connect, with a code', async () => {
    for (const [token, code] of [
      [undefined, 'auth_required'],
      ['garbage', 'token_invalid'],
      [await tokenFor(uid(), {}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), 'token_expired'],
    ] as const) {
      const socket = io(url, { auth: token ? { token } : {}, transports: ['websocket'], reconnection: false, forceNew: true });
      const err = await new Promise<Error & { data?: { code: string } }>((resolve) => socket.once('connect_error', resolve));
      assert.equal(err.data?.code, code);
      socket.close();
    }
  });

  test('the Origin allowlist holds on polling and on upgrades, cookie or not', async () => {
    const token = await tokenFor(uid());
    const polling = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example', cookie: 'session=1' } });
    assert.equal(polling.status, 403);
    const allowed = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://app.example' } });
    assert.equal(allowed.status, 200);
    // A cross-site upgrade straight to websocket, carrying a cookie, is refused before any handshake.
    const evil = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`, { headers: { origin: 'https://evil.example', cookie: 'session=1' } });
    evil.on('error', () => {});
    const refused = await new Promise<number>((resolve) => evil.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('open', () => resolve(101)));
    assert.notEqual(refused, 101);
    evil.terminate();
    const sio = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { origin: 'https://evil.example', cookie: 'a=b' } });
    await new Promise((resolve) => sio.once('connect_error', resolve));
    sio.close();
    // The plain WebSocket gateway too.
    const plain = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${token}`, { headers: { origin: 'https://evil.example' } });
    plain.on('error', () => {});
    assert.equal(await new Promise((resolve) => plain.once('unexpected-response', (_q, res) => resolve(res.statusCode))), 403);
    plain.terminate();
    const good = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${token}`, { headers: { origin: 'https://app.example' } });
    await new Promise((resolve) => good.once('open', resolve));
    good.close();
  });

  test('socket.io writes an event over long-polling as over websocket: the same event, its UTF-8 intact', async () => {
    const [ana, bo, cy] = [uid(), uid(), uid()];
    const id = await h.group(h.as(ana), [bo, cy]);
    const overWs = await socketClient(url, bo);
    // Events are encoded and framed once by the gateway and written to each connection's
    // transport: long-polling must get the packet, not the websocket frame.
    const polling = io(url, { auth: { token: await tokenFor(cy) }, transports: ['polling'], reconnection: false, forceNew: true });
    const got: any[] = [];
    polling.on('message:new', (d) => got.push(d));
    await new Promise((resolve) => polling.once('ready', resolve));
    const body = 'h\u00e9llo \u2014 \u65e5\u672c\u8a9e \u{1F44B} \\ "quoted"';
    const sent = await send(h.as(ana), id, body);
    const overPolling = await waitFor(() => got.find((d) => d.message.id === sent.id), 10_000, 'the event over long-polling');
    const overWebsocket = await overWs.next('message:new', (d) => d.message.id === sent.id);
    assert.equal(overPolling.message.body, body);
    assert.deepEqual(overPolling, overWebsocket);
    assert.equal(polling.io.engine.transport.name, 'polling');
    polling.close();
    await overWs.close();
  });

  test('ws: token in the Authorization header; bad tokens closed with a do-not-reconnect code', async () => {
    const userId = uid();
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${await tokenFor(userId)}` } });
    const ready = await new Promise<any>((resolve) => ws.once('message', (m) => resolve(JSON.parse(m.toString()))));
    assert.equal(ready.type, 'ready');
    assert.equal(ready.data.userId, userId);
    ws.close();
    const bad = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=nope`);
    const closed = await closeOf(bad);
    assert.equal(closed.code, CLOSE_CODES.unauthorized);
    assert.ok(closed.code >= 4500 && closed.code < 5000);
  });

  test('ws: a frame over 64 KiB closes the connection with 1009', async () => {
    const c = await wsClient(url, uid());
    const closed = closeOf(c.ws);
    c.ws.send(JSON.stringify({ type: 'heartbeat', data: { pad: 'x'.repeat(70 * 1024) } }));
    assert.equal((await closed).code, 1009);
  });

  test('ws: a peer that stops answering pings is dropped and goes offline', async () => {
    const userId = uid('dead');
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${await tokenFor(userId)}`, { autoPong: false });
    await new Promise((resolve) => ws.once('message', resolve));
    assert.equal(h.app.hub.of(userId).size, 1);
    await waitFor(() => h.app.hub.of(userId).size === 0, 30_000, 'the dead peer to be dropped');
    const me = h.as(userId);
    assert.equal((await me.get(`/v1/presence?userIds=${userId}`)).body.presence[0].status, 'offline');
    ws.terminate();
  });

  test('a connection ends when its token expires: ws closes 4503, socket.io says session:expired', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${await tokenFor(uid(), {}, { expiresIn: exp })}`);
    const closed = closeOf(ws);
    const socket = io(url, { auth: { token: await tokenFor(uid(), {}, { expiresIn: exp }) }, transports: ['websocket'], reconnection: false, forceNew: true });
    const expired = new Promise((resolve) => socket.once('session:expired', resolve));
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    assert.deepEqual(await expired, { code: 'token_expired' });
    assert.equal(await disconnected, 'io server disconnect');
    assert.deepEqual(await closed, { code: 4503, reason: 'token_expired' });
  });
});
