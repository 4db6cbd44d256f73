import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiter } from './rate-limiter.ts';

export function createMemoryRateLimiter(opts: { points: number; durationSec: number }): RateLimiter {
  const limiter = new RateLimiterMemory({ points: opts.points, duration: opts.durationSec });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
        return { allowed: true };
      } catch (res) {
        if (res instanceof RateLimiterRes) return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
        throw res;
      }
    },
  };
}
