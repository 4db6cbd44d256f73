import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { CLOSE_CODES } from '../protocol/events.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import type { Db } from '../src/storage/db.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import type { Store } from '../src/storage/store.ts';
import { skippedPostgres, throwawayDatabase } from './helpers/backends.ts';
import { ROUTES } from './helpers/bad-input-routes.ts';
import { type Client, type Harness, harness, type Reply, send, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { gateways, listen, type RtClient } from './helpers/realtime.ts';
import { makeFixture } from './helpers/route-fixture.ts';
import { type TcpProxy, tcpProxy } from './helpers/tcp-proxy.ts';

/**
 * PostgreSQL going down mid-run (a proxy between Parley and the machine's PostgreSQL drops
 * every connection and refuses new ones): every route and realtime command answers the retryable `unavailable`
 * (REST: 503 with Retry-After), never a 500, and counts it in parley_unavailable_total;
 * once PostgreSQL is back, a send retried with its clientMsgId is stored once.
 */
describe('PostgreSQL unavailable', { skip: skippedPostgres ?? false }, () => {
  let database: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let db: Db;
  let store: Store;
  let h: Harness;
  let url: string;
  let ana: Client;
  let conversationId: string;
  const realtime: RtClient[] = [];

  before(async () => {
    database = await throwawayDatabase('parley_unavailable');
    const target = new URL(database.url);
    const direct = await openPostgres(database.url, { max: 1 });
    await migrate(direct);
    await direct.close();
    proxy = await tcpProxy(Number(target.port || 5432));
    target.host = new URL(proxy.url).host;
    db = await openPostgres(target.toString(), { max: 5 });
    store = createSqlStore(db);
    h = await harness({ store });
    url = await listen(h);
    ana = h.as(uid('ana'));
    conversationId = await h.group(ana, [uid('bob')]);
    await send(ana, conversationId, 'before the outage');
    for (const gw of gateways) realtime.push(await gw.connect(url, ana.userId));
  });
  after(async () => {
    proxy?.unblock();
    for (const c of realtime) await c.close();
    await h?.close();
    await store?.close();
    await proxy?.close();
    await database?.drop();
  });

  test('while it is down: REST answers 503 unavailable with Retry-After, realtime acks unavailable, and it is counted', async () => {
    const fixture = await makeFixture(h);
    await h.app.delivery.drain();
    const clientMsgId = randomUUID();
    proxy.block();

    const sent = await ana.post(`/v1/conversations/${conversationId}/messages`, { clientMsgId, body: 'during the outage' });
    assert.equal(sent.status, 503, JSON.stringify(sent.body));
    assert.equal(sent.body.error.code, 'unavailable');
    assert.ok(sent.body.error.retryAfter > 0);
    assert.equal(sent.headers['retry-after'], String(sent.body.error.retryAfter));

    // Every route: its answer when it needs no storage, else unavailable; never a 500.
    const failures: string[] = [];
    let refused = 1;
    for (const route of ROUTES) {
      const b = route.baseline(fixture.fixture);
      const path = route.path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(b.params?.[p] ?? '')) + (b.query ? `?${new URLSearchParams(b.query)}` : '');
      const client = route.caller === 'admin' ? h.admin() : fixture.owner;
      const res = await client.request(route.method, path, b.body);
      if (res.status === 503 && res.body?.error?.code === 'unavailable' && res.headers['retry-after']) refused++;
      else if (res.status >= 300) failures.push(`${route.method} ${route.path}: ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(refused > ROUTES.length / 2, `only ${refused} routes needed storage`);

    for (const client of realtime) {
      const ack = await client.send('message:send', { conversationId, clientMsgId, body: 'during the outage' });
      assert.equal(ack.ok, false);
      const error = ack.error as { code: string; retryAfter?: number };
      assert.equal(error.code, 'unavailable', JSON.stringify(ack));
      assert.ok(error.retryAfter! > 0);
    }

    // A new connection (a user seen for the first time: their profile is written): told to come back later.
    const newcomer = uid('newcomer');
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${await tokenFor(newcomer)}`);
    ws.on('error', () => {});
    assert.equal(await new Promise<number>((resolve) => ws.once('close', resolve)), CLOSE_CODES.unavailable);
    const socket = io(url, { auth: { token: await tokenFor(newcomer) }, transports: ['websocket'], reconnection: false, forceNew: true });
    const refusal = await new Promise<{ data?: { code?: string; retryAfter?: number } }>((resolve) => socket.once('connect_error', resolve));
    socket.close();
    assert.equal(refusal.data?.code, 'unavailable');
    assert.ok((refusal.data?.retryAfter ?? 0) > 0);

    const metrics = await h.app.http.inject({ url: '/metrics' });
    assert.equal(metrics.statusCode, 200, 'the scrape answers while storage is down');
    const count = (gateway: string) => Number(new RegExp(`^parley_unavailable_total\\{gateway="${gateway}"\\} (\\d+)`, 'm').exec(metrics.body)?.[1] ?? 0);
    assert.equal(count('rest'), refused);
    assert.equal(count('realtime'), realtime.length);
    assert.equal((await ana.get('/ready')).status, 503);

    proxy.unblock();
    // Back: the pool reconnects; the send retried with its clientMsgId is stored now, once.
    const retried = await waitFor<Reply | null>(async () => {
      const res = await ana.post(`/v1/conversations/${conversationId}/messages`, { clientMsgId, body: 'during the outage' });
      return res.status === 503 ? null : res;
    }, 20_000, 'PostgreSQL back');
    assert.ok(retried);
    assert.equal(retried.status, 201, 'nothing was stored during the outage');
    const again = await ana.post(`/v1/conversations/${conversationId}/messages`, { clientMsgId, body: 'during the outage' });
    assert.equal(again.status, 200);
    assert.equal(again.body.message.id, retried.body.message.id);
  });
});
