import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Config } from '../config.ts';
import type { Bus } from './bus.ts';
import { createMemoryBus } from './bus-memory.ts';
import { createRedisBus } from './bus-redis.ts';
import type { InstanceRegistry } from './instances.ts';
import { createMemoryInstances } from './instances-memory.ts';
import { createRedisInstances } from './instances-redis.ts';
import type { LockStore } from './locks.ts';
import { createMemoryLocks } from './locks-memory.ts';
import { createRedisLocks } from './locks-redis.ts';
import type { PresenceStore } from './presence.ts';
import { createMemoryPresence } from './presence-memory.ts';
import { createRedisPresence } from './presence-redis.ts';
import { type RateLimiter, unlimited } from './rate-limiter.ts';
import { createMemoryRateLimiter } from './rate-limiter-memory.ts';
import { createRedisRateLimiter } from './rate-limiter-redis.ts';
import { closeRedis, openRedis, type RedisEvents } from './redis.ts';
import { guarded } from './redis-guard.ts';
import type { TypingStore } from './typing.ts';
import { createMemoryTyping } from './typing-memory.ts';
import { createRedisTyping } from './typing-redis.ts';

/** Every realtime port, from one place: memory for one process, Redis for a cluster. */
export interface Realtime {
  instanceId: string;
  bus: Bus;
  presence: PresenceStore;
  locks: LockStore;
  typing: TypingStore;
  limiter: RateLimiter;
  instances: InstanceRegistry;
  /** null in embedded mode; else whether the command connection is up, and why not. */
  redis: { ready(): Promise<{ ok: boolean; detail: string }> } | null;
  close(): Promise<void>;
}

export interface RealtimeOptions extends RedisEvents {
  /** Bus probe interval (tests shorten it to see a lost subscription sooner). */
  busProbeIntervalMs?: number;
}

const newInstanceId = () => `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

/** Chooses the implementations from the config, as storage/open.ts does for storage. */
export async function openRealtime(config: Pick<Config, 'redis' | 'rateLimit'>, opts: RealtimeOptions = {}): Promise<Realtime> {
  const instanceId = newInstanceId();
  if (!config.redis) {
    const bus = createMemoryBus();
    return {
      instanceId,
      bus,
      presence: createMemoryPresence(),
      locks: createMemoryLocks(),
      typing: createMemoryTyping(),
      limiter: config.rateLimit ? createMemoryRateLimiter(config.rateLimit) : unlimited,
      instances: createMemoryInstances(),
      redis: null,
      close: () => bus.close(),
    };
  }
  const { url, prefix } = config.redis;
  const client = await openRedis(url, 'commands', opts);
  const subscriber = await openRedis(url, 'bus', opts);
  try {
    const bus = await createRedisBus({ client, subscriber, prefix, instanceId, ...(opts.busProbeIntervalMs ? { probeIntervalMs: opts.busProbeIntervalMs } : {}) });
    return {
      instanceId,
      bus,
      presence: guarded(createRedisPresence(client, prefix), 'presence'),
      locks: guarded(createRedisLocks(client, prefix), 'locks'),
      typing: guarded(createRedisTyping(client, prefix), 'typing'),
      limiter: config.rateLimit ? createRedisRateLimiter(client, prefix, config.rateLimit) : unlimited,
      instances: guarded(createRedisInstances(client, prefix), 'instances'),
      redis: {
        async ready() {
          if (!client.isReady) return { ok: false, detail: 'not connected (reconnecting)' };
          try {
            await client.ping();
            return { ok: true, detail: 'connected' };
          } catch (err) {
            return { ok: false, detail: String((err as Error).message ?? err).slice(0, 200) };
          }
        },
      },
      async close() {
        await bus.close();
        await Promise.all([closeRedis(subscriber), closeRedis(client)]);
      },
    };
  } catch (err) {
    await Promise.all([closeRedis(subscriber), closeRedis(client)]);
    throw err;
  }
}
