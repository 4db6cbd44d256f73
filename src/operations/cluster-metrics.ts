import { Counter, type Registry } from 'prom-client';
import type { Bus } from '../realtime/bus.ts';
import type { Hub } from '../realtime/hub.ts';
import { TalliedHistogram } from './tallied-histogram.ts';

/**
 * What a cluster operator watches, beside the process defaults (event-loop lag included):
 * delivery latency from commit to socket write per gateway, the bus's traffic and resyncs,
 * sync requests and resets, rate-limit hits, Redis reconnects. Counters end in `_total`.
 */
export function registerClusterMetrics(registry: Registry, bus: Bus, hub: Hub) {
  const latency = new TalliedHistogram(
    'parley_delivery_latency_seconds',
    'From the COMMIT of a change (its publish) to its write to the sockets of this instance, per gateway',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    'gateway',
    registry,
  );
  // Bus figures live in the bus; each scrape adds what happened since the last one.
  const busCounter = (name: string, help: string, read: () => number) => {
    let seen = 0;
    return new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read();
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  busCounter('parley_bus_published_total', 'Messages this instance published on the bus', () => bus.stats().published);
  busCounter('parley_bus_received_total', 'Messages this instance received from other instances', () => bus.stats().received);
  busCounter('parley_bus_resyncs_total', 'Times the bus subscription came back after a possible gap (local clients told to sync)', () => bus.stats().resyncs);
  busCounter('parley_bus_dropped_total', 'Messages that could not reach other instances (Redis down); closed by sync', () => bus.stats().dropped);
  const syncRequests = new Counter({ name: 'parley_sync_requests_total', help: 'Sync requests answered', registers: [registry] });
  const syncResets = new Counter({ name: 'parley_sync_resets_total', help: 'Conversations answered reset (too far behind) by sync', registers: [registry] });
  const rateLimited = new Counter({ name: 'parley_rate_limited_total', help: 'Writes refused by the per-user rate limit', registers: [registry] });
  const redisReconnects = new Counter({ name: 'parley_redis_reconnects_total', help: 'Redis connections re-established after a drop', labelNames: ['connection'], registers: [registry] });

  const unobserve = hub.observe((_n, gateway, _event, _data, committedAt) => {
    if (committedAt !== undefined) latency.of(gateway).observe(Math.max(0, Date.now() - committedAt) / 1000);
  });

  return {
    syncAnswered(reset: number) {
      syncRequests.inc();
      if (reset) syncResets.inc(reset);
    },
    rateLimited: () => rateLimited.inc(),
    redisReconnected: (connection: string) => redisReconnects.inc({ connection }),
    close: unobserve,
  };
}

export type ClusterMetrics = ReturnType<typeof registerClusterMetrics>;
