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
import { closeRedis, openRedis, type RedisClient } from '../src/realtime/redis.ts';
import { createMemoryTyping } from '../src/realtime/typing-memory.ts';
import { createRedisTyping } from '../src/realtime/typing-redis.ts';
import { lockStoreContract } from './helpers/locks-contract.ts';
import { busContract, instancesContract, type Pair, presenceContract, typingContract } from './helpers/port-contracts.ts';
import { rateLimiterContract } from './helpers/rate-limiter-contract.ts';
import { dropPrefix, REDIS_URL, requireRedis, uniquePrefix } from './helpers/redis.ts';

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
