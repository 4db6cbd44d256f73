import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createMemoryBus } from '../src/realtime/bus-memory.ts';
import { createRedisBus } from '../src/realtime/bus-redis.ts';
import { createMemoryInstances } from '../src/realtime/instances-memory.ts';
import { createRedisInstances } from '../src/realtime/instances-redis.ts';
import { createRedisLocks } from '../src/realtime/locks-redis.ts';
import { createMemoryPresence } from '../src/realtime/presence-memory.ts';
import { createRedisPresence } from '../src/realtime/presence-redis.ts';
import { createRedisRateLimiter } from '../src/realtime/rate-limiter-redis.ts';
import { closeRedis, openRedis, QUEUE_BOUND, type RedisClient } from '../src/realtime/redis.ts';
import { guarded } from '../src/realtime/redis-guard.ts';
import { createMemoryTyping } from '../src/realtime/typing-memory.ts';
import { createRedisTyping } from '../src/realtime/typing-redis.ts';
import { lockStoreContract } from './helpers/locks-contract.ts';
import { busContract, instancesContract, type Pair, presenceContract, typingContract } from './helpers/port-contracts.ts';
import { rateLimiterContract } from './helpers/rate-limiter-contract.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './helpers/redis.ts';
import { waitFor } from './helpers/harness.ts';
import { startRedisProxy } from './helpers/redis-proxy.ts';
import { toAppError } from '../src/errors.ts';
import { Unreachable } from '../src/unavailable.ts';

/**
 * Every realtime port's contract on its memory implementation and on Redis (the machine's
 * Redis, each suite under a prefix of its own). Two Redis handles on one prefix play two
 * instances of a cluster.
 */

const clients: RedisClient[] = [];
const prefixes: string[] = [];
let client: RedisClient;
before(async () => {
  await requireRedis();
  client = await openRedis(REDIS_URL, 'contract');
  clients.push(client);
});
after(async () => {
  for (const p of prefixes) await dropPrefix(p);
  for (const c of clients) await closeRedis(c);
});

const prefix = () => {
  const p = uniquePrefix('ports');
  prefixes.push(p);
  return p;
};
const same = <T>(x: T): Pair<T> => ({ a: x, b: x, close: async () => {} });
/** Two instances' worth of an implementation on one prefix, each with its own connection. */
async function redisPair<T>(make: (c: RedisClient, prefix: string) => T | Promise<T>): Promise<Pair<T>> {
  const p = prefix();
  const second = await openRedis(REDIS_URL, 'contract-b');
  clients.push(second);
  return { a: await make(client, p), b: await make(second, p), close: async () => {} };
}

busContract('memory', async () => {
  const bus = createMemoryBus();
  return { ...same(bus), close: () => bus.close() };
});
busContract('redis', async () => {
  const p = prefix();
  const open = async (name: string) => {
    const [c, s] = [await openRedis(REDIS_URL, `${name}-cmd`), await openRedis(REDIS_URL, `${name}-sub`)];
    clients.push(c, s);
    return createRedisBus({ client: c, subscriber: s, prefix: p, instanceId: `${p}${name}`, probeIntervalMs: 500 });
  };
  const [a, b] = await Promise.all([open('a'), open('b')]);
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

presenceContract('memory', async () => same(createMemoryPresence()));
let restartPrefix = '';
presenceContract(
  'redis',
  async () => {
    restartPrefix = prefix();
    return redisPair((c) => createRedisPresence(c, restartPrefix));
  },
  {
    survivesRestart: async () => {
      const fresh = await openRedis(REDIS_URL, 'restarted');
      clients.push(fresh);
      return createRedisPresence(fresh, restartPrefix);
    },
  },
);

// The memory run is in locks.test.ts.
lockStoreContract('redis', () => createRedisLocks(client, prefix()));

typingContract('memory', async () => same(createMemoryTyping()));
typingContract('redis', () => redisPair(createRedisTyping));

instancesContract('memory', async () => same(createMemoryInstances()));
instancesContract('redis', () => redisPair(createRedisInstances));

rateLimiterContract('redis', (opts) => createRedisRateLimiter(client, prefix(), opts));

test('the Redis rate limiter is one count across instances (not each its own)', async () => {
  const p = prefix();
  const other = await openRedis(REDIS_URL, 'limiter-b');
  clients.push(other);
  const [a, b] = [createRedisRateLimiter(client, p, { points: 3, durationSec: 60 }), createRedisRateLimiter(other, p, { points: 3, durationSec: 60 })];
  const results = [await a.consume('k'), await b.consume('k'), await a.consume('k'), await b.consume('k'), await a.consume('k')];
  assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false, false]);
  assert.equal(await client.get(`${p}rl:k`), '5', 'counted in Redis under the prefix');
});

/**
 * How many AbortSignal.timeout signals `run` made. node-redis arms one for every command that
 * has a timeout; its timer fires seconds after the answer and builds an abort error (about
 * 40 µs a command): per message, it cost a cluster instance about a sixth of its CPU. The
 * client's own keep-alive ping may fall inside.
 */
async function timeoutsArmed(run: () => Promise<void>): Promise<number> {
  const real = AbortSignal.timeout;
  let armed = 0;
  AbortSignal.timeout = (ms: number) => {
    armed++;
    return real.call(AbortSignal, ms);
  };
  try {
    await run();
  } finally {
    AbortSignal.timeout = real;
  }
  return armed;
}

test('the Redis presence reads many users’ connections in one command per thousand users, not one each', async () => {
  const p = prefix();
  const presence = createRedisPresence(client, p);
  const users = Array.from({ length: 1500 }, (_, i) => `u${i}`);
  for (const u of ['u0', 'u1', 'u1499']) await presence.connect(u, 'c', Date.now());
  // Redis's own account of what reached it: every command that names this test's keys.
  const monitor = await openRedis(REDIS_URL, 'monitor');
  clients.push(monitor);
  const lines: string[] = [];
  let sawSentinel = () => {};
  const sentinelSeen = new Promise<void>((resolve, reject) => {
    sawSentinel = resolve;
    setTimeout(() => reject(new Error('MONITOR never showed the sentinel')), 10_000).unref();
  });
  await monitor.monitor((line) => {
    // Commands a script runs inside Redis show as `[0 lua]`: not round trips, not counted.
    if (!String(line).includes(p) || /\[\d+ lua\]/.test(String(line))) return;
    if (String(line).includes(`${p}sentinel`)) sawSentinel();
    else lines.push(String(line));
  });
  assert.deepEqual([...(await presence.connected(users))].sort(), ['u0', 'u1', 'u1499']);
  assert.equal(await presence.allConnected(users), false);
  assert.equal(await presence.allConnected(['u0', 'u1499', 'u0']), true);
  // MONITOR reports in the order Redis ran them: once the sentinel shows, so has all before it.
  await client.get(`${p}sentinel`);
  await sentinelSeen;
  // Two calls of 1,500 users (two scripts each) and one of 3: five commands in all.
  assert.equal(lines.length, 5, lines.map((l) => l.slice(0, 120)).join('\n'));
});

test('no Redis port arms a timeout that outlives its answer', async () => {
  const p = prefix();
  const [c, s] = [await openRedis(REDIS_URL, 'timeouts-cmd'), await openRedis(REDIS_URL, 'timeouts-sub')];
  clients.push(c, s);
  const bus = await createRedisBus({ client: c, subscriber: s, prefix: p, instanceId: `${p}a`, probeIntervalMs: 60_000 });
  const [presence, typing, locks, instances] = [createRedisPresence(c, p), createRedisTyping(c, p), createRedisLocks(c, p), createRedisInstances(c, p)];
  const limiter = createRedisRateLimiter(c, p, { points: 1000, durationSec: 60 });
  const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
  try {
    const armed = await timeoutsArmed(async () => {
      for (let n = 1; n <= 50; n++) {
        await bus.publish({ kind: 'typing', update: { conversationId: `${p}conv${n}`, userId: 'u', typing: true } });
        assert.equal((await limiter.consume('k')).allowed, true);
        await presence.connect(`u${n}`, `c${n}`, Date.now());
        await presence.heartbeat(`u${n}`, `c${n}`, Date.now());
        await presence.setStatus(`u${n}`, { status: 'away' });
        const { stamp } = await typing.start(`${p}conv${n}`, `u${n}`, `c${n}`, Date.now(), { ttlMs: 5000, resendMs: 3000 });
        await typing.expire(`${p}conv${n}`, `u${n}`, stamp);
        const holder = { userId: `u${n}`, conversationId: `${p}conv${n}`, connectionId: `c${n}`, expiresAt: Date.now() + 60_000 };
        assert.equal((await locks.acquire(`m${n}`, holder, Date.now())).ok, true);
        await locks.release(`m${n}`, `u${n}`, Date.now());
        await instances.beat({ id: `i${n}`, startedAt: new Date().toISOString(), connections: {} }, Date.now());
      }
      assert.equal((await presence.get(users)).filter((r) => Object.keys(r.connections).length).length, 50);
      await presence.connected(users);
      for (let n = 1; n <= 50; n++) await presence.disconnect(`u${n}`, `c${n}`, Date.now());
      await instances.list(0);
      await c.ping();
    });
    // The client's own keep-alive ping may fall inside.
    assert.ok(armed <= 1, `${armed} timeouts armed by the ports’ commands (about 950)`);
  } finally {
    await bus.close();
  }
  assert.equal(bus.stats().published, 50);
});

test('a Redis that stops answering holds at most the queue bound of publishes: the rest are refused at once', async () => {
  const p = prefix();
  const proxy = await startRedisProxy(Number(new URL(REDIS_URL).port || 6379));
  const [c, s] = [await openRedis(proxy.url, 'hung-cmd'), await openRedis(REDIS_URL, 'hung-sub')];
  clients.push(c, s);
  const bus = await createRedisBus({ client: c, subscriber: s, prefix: p, instanceId: `${p}a`, probeIntervalMs: 60_000 });
  const publish = (n: number) => bus.publish({ kind: 'typing', update: { conversationId: `${p}conv${n}`, userId: 'u', typing: true } });
  try {
    // The bus's first probes are answered to this client through the proxy, maybe after the
    // subscriber saw them: a ping answered after them leaves nothing of theirs in the queue.
    await c.ping();
    proxy.hold(true, 'all');
    const extra = 500;
    for (let n = 0; n < QUEUE_BOUND + extra; n++) await publish(n);
    await new Promise((r) => setImmediate(r));
    const dropped = bus.stats().dropped;
    // The client's own ping may hold a place in the queue too.
    assert.ok(dropped >= extra && dropped <= extra + 2, `${dropped} publishes refused`);
    proxy.hold(false, 'all');
    // A ping queues behind every held publish, so its answer comes after all of theirs; until
    // the answers start coming, the queue is still full and refuses it too.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const answered = await c.ping().then(
        () => true,
        (err: Error) => {
          if (!/queue is full/.test(err.message) || Date.now() > deadline) throw err;
          return false;
        },
      );
      if (answered) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(bus.stats().dropped, dropped, 'every publish the queue took was answered once Redis answered again');
  } finally {
    proxy.hold(false, 'all');
    await bus.close();
    await proxy.close();
  }
});

test('a Redis that stops answering: the rate limiter counts on the instance after its wait', async () => {
  const proxy = await startRedisProxy(Number(new URL(REDIS_URL).port || 6379));
  const c = await openRedis(proxy.url, 'limiter-hung');
  clients.push(c);
  const limiter = createRedisRateLimiter(c, prefix(), { points: 2, durationSec: 60 }, 100);
  try {
    proxy.hold(true, 'all');
    const results = [await limiter.consume('k'), await limiter.consume('k'), await limiter.consume('k')];
    assert.deepEqual(
      results.map((r) => r.allowed),
      [true, true, false],
      "the instance's own count: two points, then refused",
    );
  } finally {
    proxy.hold(false, 'all');
    await proxy.close();
  }
});

test('a guarded Redis port fails as unavailable (retryable) when Redis is down or stops answering, and passes Redis’s own errors on', async () => {
  const p = prefix();
  const unavailable = (err: unknown) => err instanceof Unreachable && toAppError(err).code === 'unavailable' && toAppError(err).retryAfter !== undefined;
  const proxy = await startRedisProxy(Number(new URL(REDIS_URL).port || 6379));
  const c = await openRedis(proxy.url, 'guard-hung');
  clients.push(c);
  const typing = guarded(createRedisTyping(c, p), 'typing', 200);
  const start = () => typing.start(`${p}conv`, 'u', 'c', Date.now(), { ttlMs: 5000, resendMs: 3000 });
  try {
    assert.equal((await start()).announce, true, 'answered while Redis answers');
    proxy.hold(true, 'all');
    await assert.rejects(start(), (err: Error) => unavailable(err) && /typing\.start within 200 ms/.test(err.message));
  } finally {
    proxy.hold(false, 'all');
    await proxy.close();
  }

  const down = await openRedis(REDIS_URL, 'guard-down');
  await closeRedis(down);
  await assert.rejects(guarded(createRedisPresence(down, p), 'presence', 200).get(['u']), (err: Error) => unavailable(err) && /presence\.get/.test(err.message));
  await assert.rejects(guarded(createRedisLocks(down, p), 'locks', 200).holder('m', Date.now()), unavailable);

  // Redis's own answer to a bad command is a bug, not an outage: it stays an internal error.
  await client.set(`${p}{presence}:pc:x`, 'not a sorted set');
  await assert.rejects(
    guarded(createRedisPresence(client, p), 'presence', 200).get(['x']),
    (err: Error) => !(err instanceof Unreachable) && toAppError(err).code === 'internal_error',
  );
});

test('a connection that goes silent without closing is replaced, and its subscriptions are made again', async () => {
  const p = prefix();
  const proxy = await startRedisProxy(Number(new URL(REDIS_URL).port || 6379));
  const reconnected = new Set<string>();
  const events = { onReconnect: (name: string) => void reconnected.add(name) };
  // Replaced once a PING has gone unanswered through ten checks, 2 s: a loaded machine's Redis answers sooner.
  const liveness = { everyMs: 200, misses: 10 };
  const [c, s] = [await openRedis(proxy.url, 'silent-cmd', events, liveness), await openRedis(proxy.url, 'silent-sub', events, liveness)];
  clients.push(c, s);
  const got: string[] = [];
  await s.sSubscribe(`${p}ch`, (m) => void got.push(m));
  try {
    // Answered, a PING keeps a connection, a subscriber's too (its PONG comes in pub/sub form):
    // a new PING goes only once the last is answered, so more than `misses` of them on each
    // connection mean each was answered in time, and none may have been replaced meanwhile.
    await waitFor(() => proxy.pings().filter((n) => n > liveness.misses + 1).length === 2, 30_000, 'both connections to send their PINGs');
    assert.deepEqual([...reconnected], [], 'no connection that answers is replaced');
    proxy.silence();
    await waitFor(() => reconnected.has('silent-cmd') && reconnected.has('silent-sub'), 10_000, 'both connections replaced');
    assert.equal(await c.set(`${p}k`, 'v'), 'OK');
    // Published on the machine's Redis until it arrives: the subscription was made again.
    await waitFor(
      async () => {
        await client.sPublish(`${p}ch`, 'after');
        return got.includes('after');
      },
      10_000,
      'the subscription to carry a message again',
    );
  } finally {
    await proxy.close();
  }
});
