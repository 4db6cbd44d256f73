import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { registerClusterMetrics } from './operations/cluster-metrics.ts';
import { registerSendMetrics } from './operations/send-metrics.ts';
import type { Bus } from './realtime/bus.ts';
import type { Hub } from './realtime/hub.ts';
import type { Store } from './storage/store.ts';

/** How often the event-loop lag histogram samples (ms). */
const LAG_SAMPLE_MS = 100;

/**
 * Prometheus metrics for GET /metrics: process defaults (memory, event-loop lag, GC) and
 * what this instance carries: live connections, log events seen on the bus, deliveries, the
 * send path's group commit; and the delivery job queues.
 */
export function createMetrics(
  bus: Bus,
  hub: Hub,
  observeSends: Store['observeSends'],
  deliveryStatus?: () => Promise<Record<string, Record<string, number>>>,
) {
  const registry = new Registry();
  // The event-loop lag histogram samples on a timer: prom-client's default of every 10 ms woke
  // an idle server 100 times a second, each wake of a sleeping process about 0.1 ms of CPU
  // (1% of a core, with nothing to do). Every 100 ms still sees any stall of 100 ms or more,
  // and a shorter one in proportion to its length.
  collectDefaultMetrics({ register: registry, prefix: 'parley_', eventLoopMonitoringPrecision: LAG_SAMPLE_MS });
  // prom-client's totals of these are gauges named `_total`, which Prometheus reserves for
  // counters (promtool flags them); `sum(parley_nodejs_active_handles)` gives the same.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`parley_nodejs_${name}`);
  new Gauge({
    name: 'parley_connections',
    help: 'Live realtime connections on this instance, by gateway',
    labelNames: ['gateway'],
    registers: [registry],
    collect() {
      for (const [gateway, n] of Object.entries(hub.countByGateway())) this.set({ gateway }, n);
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
        // Storage down: the scrape still answers (with parley_unavailable_total), without these.
        const status = await deliveryStatus().catch(() => ({}));
        for (const [channel, counts] of Object.entries(status)) {
          for (const [state, n] of Object.entries(counts)) if (state !== 'attempts') this.set({ channel, state }, n);
        }
      },
    });
  }
  // The bus and the hub report every message and every event written: these two count in
  // place and hand their totals to prom-client at scrape time, instead of a labelled inc
  // (its labels validated and hashed) per message.
  const byKind = new Map<string, number>();
  let delivered = 0;
  new Counter({
    name: 'parley_events_total',
    help: 'Bus messages seen by this instance, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of byKind) this.inc({ kind }, n);
    },
  });
  const unavailable = new Counter({
    name: 'parley_unavailable_total',
    help: 'Requests and commands answered `unavailable` because storage could not be reached, by gateway',
    labelNames: ['gateway'],
    registers: [registry],
  });
  new Counter({
    name: 'parley_deliveries_total',
    help: 'Events written to connections of this instance',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(delivered);
    },
  });
  const late = new Counter({
    name: 'parley_fanout_late_events_total',
    help: 'Conversation events that arrived after the reorder window had gone past their seq: not sent live (clients sync the gap)',
    registers: [registry],
  });
  const unsubscribe = bus.subscribe((m) => {
    const kind = m.kind === 'conversation' ? m.event.type : m.kind;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  });
  const unobserve = hub.observe((count) => {
    delivered += count;
  });
  const cluster = registerClusterMetrics(registry, bus, hub);
  const unobserveSends = registerSendMetrics(registry, observeSends);
  return {
    cluster,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    countUnavailable: (gateway: string) => unavailable.inc({ gateway }),
    countLateEvent: () => late.inc(),
    close() {
      unsubscribe();
      unobserve();
      unobserveSends();
      cluster.close();
    },
  };
}
