import type { Bus, BusMessage, BusMeta } from './bus.ts';

/** One process: every message reaches every subscriber at once, nothing can be missed. */
export function createMemoryBus(): Bus {
  const handlers = new Set<(m: BusMessage, meta: BusMeta) => void>();
  let published = 0;
  const since = Date.now();
  return {
    async publish(message) {
      published++;
      const meta = { publishedAt: Date.now(), local: true };
      for (const h of handlers) {
        // A throwing subscriber must not stop the others nor the publisher.
        try {
          h(message, meta);
        } catch {}
      }
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    health: () => ({ ok: true, detail: 'in process', since }),
    stats: () => ({ published, received: published, resyncs: 0, dropped: 0 }),
    async close() {
      handlers.clear();
    },
  };
}
