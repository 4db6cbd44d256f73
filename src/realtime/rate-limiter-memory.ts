import { RateLimiterMemory } from 'rate-limiter-flexible';
import { fromFlexible, type RateLimiter } from './rate-limiter.ts';

export function createMemoryRateLimiter(opts: { points: number; durationSec: number }): RateLimiter {
  return fromFlexible(new RateLimiterMemory({ points: opts.points, duration: opts.durationSec }));
}
