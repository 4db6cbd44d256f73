import type { Bus, BusMessage } from './bus.ts';

export function createMemoryBus(): Bus {
  const handlers = new Set<(m: BusMessage) => void>();
  return {
    async publish(message) {
      for (const h of handlers) {
        // A throwing subscriber must not stop the others nor the publisher.
        try {
          h(message);
        } catch {}
      }
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
    },
  };
}
