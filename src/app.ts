import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createMetrics } from './metrics.ts';
import { buildHttp } from './gateways/http/server.ts';
import { createDispatcher } from './gateways/realtime/commands.ts';
import { attachSocketIo } from './gateways/socketio/index.ts';
import { attachWs } from './gateways/ws/index.ts';
import type { Bus } from './realtime/bus.ts';
import { createMemoryBus } from './realtime/bus-memory.ts';
import { startFanout } from './realtime/fanout.ts';
import { createHub, type Hub } from './realtime/hub.ts';
import { createMemoryLocks } from './realtime/locks-memory.ts';
import { createMemoryPresence } from './realtime/presence-memory.ts';
import { type RateLimiter, unlimited } from './realtime/rate-limiter.ts';
import { createMemoryRateLimiter } from './realtime/rate-limiter-memory.ts';
import { createServices, type Services } from './services/index.ts';
import { openStore } from './storage/open.ts';
import type { Channel } from './delivery/channel.ts';
import type { EmailChannel } from './delivery/channels/email.ts';
import { channelsFromConfig, emailFromConfig } from './delivery/channels/from-config.ts';
import { type Delivery, startDelivery } from './delivery/workers.ts';
import type { DevicePlatform, NotificationType } from './domain/types.ts';
import type { Store } from './storage/store.ts';

export interface App {
  http: FastifyInstance;
  delivery: Delivery;
  services: Services;
  store: Store;
  bus: Bus;
  hub: Hub;
  close(): Promise<void>;
}

export interface AppOverrides {
  /** A store opened by the caller (tests share one per process); the app will not close it. */
  store?: Store;
  /** Push channels to use instead of the configured ones (tests point them at local servers). */
  channels?: Partial<Record<DevicePlatform, Channel>>;
  email?: EmailChannel | null;
  /** The services' clock (tests move it to the edge of quiet hours). */
  now?: () => Date;
}

/** Wires ports to services to gateways. Tests call it; only main.ts listens. */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const store = overrides.store ?? (await openStore(config));
  const bus = createMemoryBus();
  const limiter: RateLimiter = config.rateLimit ? createMemoryRateLimiter(config.rateLimit) : unlimited;
  const channels = overrides.channels ?? channelsFromConfig(config);
  const email = overrides.email !== undefined ? overrides.email : emailFromConfig(config);
  const services = createServices(
    config,
    { store, bus, now: overrides.now ?? (() => new Date()) },
    { presence: createMemoryPresence(), locks: createMemoryLocks(), pushPlatforms: new Set(Object.keys(channels) as DevicePlatform[]) },
  );
  const hub = createHub();
  const metrics = createMetrics(bus, hub, async () => (await services.admin.status()).channels as unknown as Record<string, Record<string, number>>);
  const http = await buildHttp({ config, services, limiter, isReady: () => store.isReady(), metrics });
  const log = http.log;

  const stopFanout = startFanout({
    bus,
    hub,
    membersOf: (id) => services.membership.members(id),
    onError: (err) => log.error({ err }, 'fan-out failed'),
    wantsNotification: (connectionId, type) => services.notificationFilters.allows(connectionId, type as NotificationType),
  });
  const dispatch = createDispatcher(services, limiter, (err, command) => log.error({ err, command }, 'command failed'));
  const sessionDeps = { services, hub, dispatch, log };
  const socketio = attachSocketIo(http.server, config, sessionDeps);
  const ws = attachWs(http.server, config, sessionDeps);
  const sweeper = setInterval(
    () => void services.presence.sweep(config.realtime.presenceStaleMs).catch((err) => log.error({ err }, 'presence sweep failed')),
    Math.min(10_000, config.realtime.presenceStaleMs),
  );
  sweeper.unref();
  const stopJobErrors = store.jobs.onError((err) => log.error({ err }, 'job queue error'));
  await store.jobs.start();
  const delivery = await startDelivery({
    services,
    jobs: store.jobs,
    bus,
    channels,
    email,
    digestIntervalMinutes: config.email.digestIntervalMinutes,
    productName: 'Parley',
    receiptDelayMs: config.push.expo.receiptDelaySeconds * 1000,
    onError: (err, what) => log.error({ err }, `${what} failed`),
  });

  return {
    http,
    delivery,
    services,
    store,
    bus,
    hub,
    async close() {
      clearInterval(sweeper);
      await delivery.stop();
      stopJobErrors();
      await ws.close();
      await socketio.close();
      stopFanout();
      metrics.close();
      services.close();
      await http.close();
      await bus.close();
      for (const channel of Object.values(channels)) await channel.close();
      await email?.close();
      if (!overrides.store) await store.close();
    },
  };
}
