import type { RateLimiter } from '../realtime/rate-limiter.ts';
import type { Services } from '../services/index.ts';
import type { ClusterMetrics } from './cluster-metrics.ts';

/** Counts sync requests and resets on every gateway (they all call this one service). */
export function instrumentSync(services: Services, metrics: ClusterMetrics): void {
  const { sync } = services.sync;
  services.sync.sync = async (...args) => {
    const result = await sync(...args);
    metrics.syncAnswered(result.reset.length);
    return result;
  };
}

/** Counts refusals of the shared per-user limit (REST and realtime alike). */
export function instrumentLimiter(limiter: RateLimiter, metrics: ClusterMetrics): RateLimiter {
  return {
    async consume(key) {
      const decision = await limiter.consume(key);
      if (!decision.allowed) metrics.rateLimited();
      return decision;
    },
  };
}
