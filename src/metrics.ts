import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Bus } from './realtime/bus.ts';
import type { Hub } from './realtime/hub.ts';

/**
 * Prometheus metrics for GET /metrics: process defaults (memory, event-loop lag, GC) and
 * what this instance carries: live connections, log events seen on the bus, deliveries; and
 * the delivery job queues.
 */
export function createMetrics(bus: Bus, hub: Hub, deliveryStatus?: () => Promise<Record<string, Record<string, number>>>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  new Gauge({
    name: 'parley_connections',
    help: 'Live realtime connections on this instance',
    registers: [registry],
    collect() {
      this.set(hub.size);
    },
  });
  if (deliveryStatus) {
    // Read at scrape time from the job queue (shared by every instance, so every instance reports the same).
    new Gauge({
      name: 'parley_delivery_jobs',
      help: 'Delivery jobs per channel and state (queued, active, retrying, completed, failed, deadLetters), from the shared job queue',
      labelNames: ['channel', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [channel, counts] of Object.entries(await deliveryStatus())) {
          for (const [state, n] of Object.entries(counts)) if (state !== 'attempts') this.set({ channel, state }, n);
        }
      },
    });
  }
  const events = new Counter({ name: 'parley_events_total', help: 'Bus messages seen by this instance, by kind', labelNames: ['kind'], registers: [registry] });
  const deliveries = new Counter({ name: 'parley_deliveries_total', help: 'Events written to connections of this instance', registers: [registry] });
  const unsubscribe = bus.subscribe((m) => events.inc({ kind: m.kind === 'conversation' ? m.event.type : m.kind }));
  const unobserve = hub.observe((count) => deliveries.inc(count));
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close() {
      unsubscribe();
      unobserve();
    },
  };
}
