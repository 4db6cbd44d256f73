/**
 * Per-key rate limiting (a user across all gateways). The memory implementation counts in
 * this process; a Redis one counts across a cluster.
 */
export interface RateLimiter {
  /** Takes one point; when none is left, says how many seconds until one is. */
  consume(key: string): Promise<{ allowed: true } | { allowed: false; retryAfterSec: number }>;
}

export const unlimited: RateLimiter = { consume: async () => ({ allowed: true }) };
