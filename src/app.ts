import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { buildHttp } from './gateways/http/server.ts';
import type { Bus } from './realtime/bus.ts';
import { createMemoryBus } from './realtime/bus-memory.ts';
import { type RateLimiter, unlimited } from './realtime/rate-limiter.ts';
import { createMemoryRateLimiter } from './realtime/rate-limiter-memory.ts';
import { createServices, type Services } from './services/index.ts';
import { openStore } from './storage/open.ts';
import type { Store } from './storage/store.ts';

export interface App {
  http: FastifyInstance;
  services: Services;
  store: Store;
  bus: Bus;
  close(): Promise<void>;
}

export interface AppOverrides {
  /** A store opened by the caller (tests share one per process); the app will not close it. */
  store?: Store;
}

/** Wires ports to services to gateways. Tests call it; only main.ts listens. */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const store = overrides.store ?? (await openStore(config));
  const bus = createMemoryBus();
  const limiter: RateLimiter = config.rateLimit ? createMemoryRateLimiter(config.rateLimit) : unlimited;
  const services = createServices(config, { store, bus, now: () => new Date() });
  const http = await buildHttp({ config, services, limiter, isReady: () => store.isReady() });
  return {
    http,
    services,
    store,
    bus,
    async close() {
      await http.close();
      await bus.close();
      if (!overrides.store) await store.close();
    },
  };
}
