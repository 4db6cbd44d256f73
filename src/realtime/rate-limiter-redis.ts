import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { fromFlexible, type RateLimiter } from './rate-limiter.ts';
import type { RedisClient } from './redis.ts';

/**
 * One count per user across every instance (rate-limiter-flexible's Redis store, an atomic
 * INCR with a TTL). While Redis is unreachable each instance counts on its own (the
 * insurance limiter): limits loosen to per instance, writes are never refused for it.
 */
export function createRedisRateLimiter(client: RedisClient, prefix: string, opts: { points: number; durationSec: number }): RateLimiter {
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
  return fromFlexible(limiter);
}
