import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { connectedOrHere } from '../src/realtime/presence-here.ts';
import { createRedisPresence } from '../src/realtime/presence-redis.ts';
import { createRedisRateLimiter } from '../src/realtime/rate-limiter-redis.ts';
import { closeRedis, openRedis } from '../src/realtime/redis.ts';
import { guarded } from '../src/realtime/redis-guard.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, send, uid, waitFor } from './helpers/harness.ts';
import { listen, type RtClient, wsClient } from './helpers/realtime.ts';
import { type PrivateRedis, startPrivateRedis, uniquePrefix } from './helpers/redis.ts';
import { type RedisProxy, startRedisProxy } from './helpers/redis-proxy.ts';
import type { Store } from '../src/storage/store.ts';

/**
 * Two instances (two apps in this process, one store) on a private redis-server the test
 * kills and restarts, and whose pub/sub to A it wedges through a proxy: the bus
 * subscription comes back by itself, local clients are told to sync (and find what they
 * missed), /ready says what is wrong, rate limits fall back to per instance while Redis is
 * away, and so does the notification pipeline's view of who is connected.
 */
describe('Redis outages', () => {
  let redis: PrivateRedis;
  /** Instance A reaches Redis through it, so its subscription alone can be wedged. */
  let proxy: RedisProxy;
  let store: Store;
  let a: Harness;
  let b: Harness;
  let urlB: string;
  before(async () => {
    redis = await startPrivateRedis();
    proxy = await startRedisProxy(redis.port);
    store = await pgliteBackend.openStore();
    const env = { REDIS_URL: redis.url, PARLEY_REDIS_PREFIX: uniquePrefix('outage'), PARLEY_RATE_LIMIT: '1000/10s' };
    a = await harness({ store }, { ...env, REDIS_URL: proxy.url }, { busProbeIntervalMs: 200 });
    b = await harness({ store }, env, { busProbeIntervalMs: 200 });
    urlB = await listen(b);
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await store?.close();
    await proxy?.close();
    await redis?.stop();
  });

  beforeEach(() => redis.start());

  const ready = async (h: Harness) => {
    const res = await h.app.http.inject({ method: 'GET', url: '/ready' });
    return { code: res.statusCode, body: res.json() };
  };
  const metric = async (h: Harness, line: RegExp) => {
    const body = (await h.app.http.inject({ method: 'GET', url: '/metrics' })).body;
    const m = line.exec(body);
    return m ? Number(m[1]) : 0;
  };

  /** Ana writes through instance A; Bob listens on instance B over the plain WebSocket. */
  async function pair(): Promise<{ ana: ReturnType<Harness['as']>; bob: RtClient; id: string }> {
    const ana = a.as(uid('ana'));
    const bobId = uid('bob');
    const id = await a.group(ana, [bobId]);
    const bob = await wsClient(urlB, bobId);
    const m = await send(ana, id, 'across');
    await bob.next('message:new', (d) => d.message.id === m.id);
    return { ana, bob, id };
  }

  test('both instances are ready and answer every part', async () => {
    for (const h of [a, b]) {
      await waitFor(async () => (await ready(h)).body.status === 'ready', 60_000, 'ready');
      const r = await ready(h);
      assert.equal(r.code, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'ready', JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body.checks).sort(), ['bus', 'jobs', 'redis', 'storage']);
      assert.ok(Object.values(r.body.checks).every((c: any) => c.ok === true), JSON.stringify(r.body.checks));
    }
  });

  test('CLIENT KILL of the subscriptions: they come back, local clients are told to sync, live delivery resumes', async () => {
    const { ana, bob, id } = await pair();
    const resyncs = await metric(b, /^parley_bus_resyncs_total (\d+)/m);
    await redis.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    const signal = await bob.next('sync:required', () => true, 60_000);
    assert.equal(typeof signal.reason, 'string');
    assert.ok((await metric(b, /^parley_bus_resyncs_total (\d+)/m)) > resyncs);
    assert.ok((await metric(b, /^parley_redis_reconnects_total\{connection="bus"\} (\d+)/m)) >= 1);
    const m = await send(ana, id, 'after the kill');
    await bob.next('message:new', (d) => d.message.id === m.id);
    await bob.close();
  });

  test('Redis down for a while: both serve and ack, /ready says degraded and why, the gap is closed by sync when it returns', async () => {
    const { ana, bob, id } = await pair();
    const cursor = (await bob.send('sync', { cursors: {} })).data.changes.filter((c: any) => c.conversationId === id).at(-1).seq;
    bob.events.length = 0;
    await redis.kill();
    const degraded = (await waitFor(async () => {
      const r = await ready(b);
      return r.body.status === 'degraded' ? r : null;
    }, 60_000, 'B to report degraded'))!;
    assert.equal(degraded.code, 200, 'degraded still takes traffic');
    assert.equal(degraded.body.checks.redis.ok, false);
    assert.equal(degraded.body.checks.bus.ok, false);
    assert.ok(degraded.body.reasons.some((r: string) => r.startsWith('redis:')), JSON.stringify(degraded.body.reasons));

    // Writes keep being acknowledged on both instances (A's REST, B's realtime).
    const missed = await send(ana, id, 'while redis is down');
    const own = await bob.send('message:send', { conversationId: id, clientMsgId: uid('c'), body: 'bob too' });
    assert.equal(own.ok, true, JSON.stringify(own));
    // What only Redis holds (typing, presence, edit locks) is refused as retryable, not as an internal error.
    for (const [command, data] of [
      ['typing:start', { conversationId: id }],
      ['presence:get', { userIds: [ana.userId] }],
      ['message:lock', { messageId: (own.data as { id: string }).id }],
    ] as const) {
      const refused = await bob.send(command, data);
      const error = refused.error as { code: string; retryAfter?: number } | undefined;
      assert.equal(error?.code, 'unavailable', `${command}: ${JSON.stringify(refused)}`);
      assert.equal(typeof error?.retryAfter, 'number', `${command}: ${JSON.stringify(refused)}`);
    }

    await redis.start();
    await bob.next('sync:required', () => true, 60_000);
    const sync = await bob.send('sync', { cursors: { [id]: cursor } });
    const got = sync.data.changes.filter((c: any) => c.type === 'message:new').map((c: any) => c.data.message.body);
    assert.deepEqual(got, ['while redis is down', 'bob too']);
    assert.ok(missed.seq > cursor);
    // Live delivery resumes once both ends are back: A publishes (its connections come back
    // through the proxy, on their own backoff) and B receives. A publish A makes before its
    // publisher is back is dropped and ends in a gap message, a sync:required, not a live event.
    for (const [h, name] of [[a, 'A'], [b, 'B']] as const) {
      await waitFor(async () => (await ready(h)).body.status === 'ready', 60_000, `${name} ready again`);
    }
    const live = await send(ana, id, 'live again');
    await bob.next('message:new', (d) => d.message.id === live.id).catch((err: Error) => {
      const bus = (h: Harness) => ({ health: h.app.bus.health(), stats: h.app.bus.stats() });
      throw new Error(`${err.message}; A's bus ${JSON.stringify(bus(a))}; B's bus ${JSON.stringify(bus(b))}; bob's events since: ${JSON.stringify(bob.events.map((e) => e.event))}`);
    });
    await bob.close();
  });

  test('a bus that stops delivering while Redis still answers is not ready (wedged), and recovers', async () => {
    // What Redis sends on A's subscription is held back while PING and SPUBLISH on A's
    // command connection still answer: the subscription carries nothing, Redis looks fine.
    proxy.hold(true);
    try {
      const wedged = (await waitFor(async () => {
        const r = await ready(a);
        return r.code === 503 ? r : null;
      }, 60_000, 'A to report not ready'))!;
      assert.equal(wedged.body.error.code, 'not_ready');
      assert.match(wedged.body.error.message, /bus subscription.*wedged/);
      assert.deepEqual(wedged.body.error.details.map((d: { path: string }) => d.path), ['bus'], 'Redis itself answers; the bus does not');
    } finally {
      proxy.hold(false);
    }
    await waitFor(async () => (await ready(a)).code === 200, 60_000, 'A ready again');
  });

  test('rate limits are shared while Redis is up, and per instance while it is down', async () => {
    const p = uniquePrefix('limits');
    const [c1, c2] = [await openRedis(redis.url, 'l1'), await openRedis(redis.url, 'l2')];
    try {
      const [l1, l2] = [createRedisRateLimiter(c1, p, { points: 2, durationSec: 60 }), createRedisRateLimiter(c2, p, { points: 2, durationSec: 60 })];
      assert.deepEqual([(await l1.consume('u')).allowed, (await l2.consume('u')).allowed, (await l1.consume('u')).allowed], [true, true, false]);
      await redis.kill();
      // Each instance now counts alone: two each, never an error, never a wait on Redis.
      assert.deepEqual([(await l1.consume('u')).allowed, (await l1.consume('u')).allowed, (await l1.consume('u')).allowed], [true, true, false]);
      assert.deepEqual([(await l2.consume('u')).allowed, (await l2.consume('u')).allowed, (await l2.consume('u')).allowed], [true, true, false]);
    } finally {
      await redis.start();
      await Promise.all([closeRedis(c1), closeRedis(c2)]);
    }
  });

  test('Redis down: notification work is still done, a mention reaches the inbox of a member connected nowhere', async () => {
    const ana = a.as(uid('ana'));
    const carl = b.as(uid('carl'));
    const id = await a.group(ana, [carl.userId]);
    const inbox = async () => (await carl.get('/v1/notifications')).body.notifications.map((n: { type: string; body: string }) => `${n.type}: ${n.body}`);
    // The invitation is in before Redis goes: only what is sent while it is away is under test.
    await waitFor(async () => (await inbox()).length === 1, 30_000, "carl's invitation");
    await redis.kill();
    await waitFor(async () => (await ready(a)).body.status === 'degraded', 60_000, 'A to report degraded');
    // Before, every drain failed on the presence check until Redis was back.
    await send(ana, id, 'carl, look', { mentions: [carl.userId] });
    await waitFor(async () => (await inbox()).includes('mention: carl, look'), 30_000, "carl's mention while Redis is down");
  });

  test("the notification pipeline's presence: Redis's answer while it is up, this instance's connections while it is down", async () => {
    const client = await openRedis(redis.url, 'presence-here');
    try {
      const presence = guarded(createRedisPresence(client, uniquePrefix('here')), 'presence');
      const warned: string[] = [];
      const connected = connectedOrHere(presence, (u) => u === 'here', (err) => warned.push(err.name));
      await presence.connect('elsewhere', 'c1', Date.now());
      assert.deepEqual([...(await connected.connected(['here', 'elsewhere', 'nowhere']))], ['elsewhere']);
      assert.equal(await connected.allConnected(['elsewhere']), true);
      await redis.kill();
      assert.deepEqual([...(await connected.connected(['here', 'elsewhere', 'nowhere']))], ['here']);
      assert.equal(await connected.allConnected(new Set(['here'])), true);
      assert.equal(await connected.allConnected(['here', 'elsewhere']), false);
      assert.deepEqual(warned, ['Unreachable'], 'one warning, not one a call');
    } finally {
      await redis.start();
      await closeRedis(client);
    }
  });
});
