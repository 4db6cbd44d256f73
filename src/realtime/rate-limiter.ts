import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Per-key rate limiting (a user across all gateways). The memory implementation counts in
 * this process; the Redis one counts across a cluster.
 */
export interface RateLimiter {
  /** Takes one point; when none is left, says how many seconds until one is. */
  consume(key: string): Promise<{ allowed: true } | { allowed: false; retryAfterSec: number }>;
}

export const unlimited: RateLimiter = { consume: async () => ({ allowed: true }) };

/** The port over a rate-limiter-flexible limiter (it rejects with a RateLimiterRes when out of points). */
export function fromFlexible(limiter: RateLimiterAbstract): RateLimiter {
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
