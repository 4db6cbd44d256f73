import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { fromFlexible, type RateLimiter } from './rate-limiter.ts';
import type { RedisClient } from './redis.ts';
import { REDIS_WAIT_MS, withinWait } from './redis-guard.ts';

/**
 * One count per user across every instance (rate-limiter-flexible's Redis store, an atomic
 * INCR with a TTL). While Redis is unreachable, or does not answer within `waitMs`, each
 * instance counts on its own (the insurance limiter): limits loosen to per instance, writes
 * are never refused for it.
 *
 * The wait is withinWait's timer: a count must not wait on Redis for ever.
 */
export function createRedisRateLimiter(client: RedisClient, prefix: string, opts: { points: number; durationSec: number }, waitMs = REDIS_WAIT_MS): RateLimiter {
  const insuranceLimiter = new RateLimiterMemory({ points: opts.points, duration: opts.durationSec });
  const limiter = new RateLimiterRedis({
    storeClient: client,
    useRedisPackage: true,
    // Not ready: straight to the insurance limiter instead of waiting on a reconnect.
    rejectIfRedisNotReady: true,
    keyPrefix: `${prefix}rl`,
    points: opts.points,
    duration: opts.durationSec,
    insuranceLimiter,
  });
  const shared = fromFlexible(limiter);
  const own = fromFlexible(insuranceLimiter);
  return { consume: (key) => withinWait(shared.consume(key), waitMs, () => own.consume(key)) };
}
