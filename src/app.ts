import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createMetrics } from './metrics.ts';
import { buildHttp } from './gateways/http/server.ts';
import { attachGraphql } from './gateways/graphql/index.ts';
import { createDispatcher } from './gateways/session/commands.ts';
import { ExpiryQueue } from './gateways/session/expiries.ts';
import { attachSocketIo } from './gateways/socketio/index.ts';
import { attachWs } from './gateways/ws/index.ts';
import type { Bus } from './realtime/bus.ts';
import { startFanout } from './realtime/fanout.ts';
import { createHub, type Hub } from './realtime/hub.ts';
import { openRealtime, type Realtime } from './realtime/open.ts';
import { startResync } from './realtime/resync.ts';
import { createServices, type Services } from './services/index.ts';
import { openStore } from './storage/open.ts';
import type { Channel } from './delivery/channel.ts';
import type { EmailChannel } from './delivery/channels/email.ts';
import { channelsFromConfig, emailFromConfig } from './delivery/channels/from-config.ts';
import { type Delivery, startDelivery } from './delivery/workers.ts';
import type { DevicePlatform, NotificationType } from './domain/types.ts';
import { createDrain } from './operations/drain.ts';
import { instrumentLimiter, instrumentSync } from './operations/instrument.ts';
import { readinessCheck } from './operations/readiness.ts';
import { startInstanceBeat } from './operations/instance-beat.ts';
import type { Store } from './storage/store.ts';

export interface App {
  http: FastifyInstance;
  delivery: Delivery;
  services: Services;
  store: Store;
  bus: Bus;
  hub: Hub;
  realtime: Realtime;
  /** SIGTERM: refuse new commands, finish those running, close sockets with a reconnect code, then close(). */
  shutdown(): Promise<void>;
  /** The last shutdown phase done, and how long ago shutdown began (logged if it passes its bound). */
  shutdownProgress(): { lastPhase: string; ms: number };
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
  /** The process's logger (main.ts makes one, to report start-up before the app exists). */
  logger?: Logger;
  /** Told as each start-up phase ends (storage, migrations, job queue). */
  onPhase?: (phase: 'storage' | 'migrations' | 'job queue', ms: number, detail: Record<string, unknown>) => void;
  /** Bus probe interval (tests shorten it to see a lost subscription sooner). */
  busProbeIntervalMs?: number;
  /** How often the notification outbox is swept (tests make it longer than they run, to see what drains it sooner). */
  outboxSweepMs?: number;
}

/** How often an instance tells the others it is alive (and its connection counts). */
const INSTANCE_BEAT_MS = 2000;
/**
 * The share of PARLEY_SHUTDOWN_TIMEOUT_MS after which a stop cuts connections still open.
 * Running commands get up to half; the rest (notification drain up to 1 s, storage) must
 * fit in what is left.
 */
const CUT_CONNECTIONS_AT = 0.6;

/** Wires ports to services to gateways. Tests call it; only main.ts listens. */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const onPhase = overrides.onPhase ?? (() => {});
  const store = overrides.store ?? (await openStore(config, onPhase));
  // Logging and metrics come after the ports; Redis events before then are only counted later.
  let log: FastifyInstance['log'] | Logger | null = overrides.logger ?? null;
  let onReconnect = (_name: string) => {};
  const realtime = await openRealtime(config, {
    onReconnect: (name) => onReconnect(name),
    onError: (name, err) => log?.warn({ err: String((err as Error)?.message ?? err) }, `redis ${name} connection error`),
    ...(overrides.busProbeIntervalMs ? { busProbeIntervalMs: overrides.busProbeIntervalMs } : {}),
  });
  const { bus } = realtime;
  const channels = overrides.channels ?? channelsFromConfig(config);
  const email = overrides.email !== undefined ? overrides.email : emailFromConfig(config);
  // Set once delivery runs (below): notification work a service commits is drained at once.
  let drainNotifyWork = () => {};
  const hub = createHub();
  const services = createServices(
    config,
    { store, bus, now: overrides.now ?? (() => new Date()), notifyWorkWritten: () => drainNotifyWork() },
    {
      presence: realtime.presence,
      locks: realtime.locks,
      typing: realtime.typing,
      instances: realtime.instances,
      instanceStaleMs: INSTANCE_BEAT_MS * 5,
      pushPlatforms: new Set(Object.keys(channels) as DevicePlatform[]),
      connectedHere: (userId) => hub.connected(userId),
      onPresenceFallback: (err) => log?.warn({ err: err.message }, 'presence unreachable: notifications decided from this instance\'s connections'),
    },
  );
  const metrics = createMetrics(bus, hub, (fn) => store.observeSends(fn), async () => (await services.admin.channels()) as unknown as Record<string, Record<string, number>>);
  // The first scrape's work, done now rather than under load: prom-client's value objects
  // ({ value, labels }, an object literal's shape, which V8 shares across the process) take a
  // fractional value (CPU seconds) before any hot path is optimized. Left to the first real
  // scrape, that change of the shared field threw away about twenty of the send path's
  // compiled functions at once, and V8 compiled them again (issue 9: 0.38 s of its compiler's
  // threads under load; test/metrics-first-scrape.test.ts). A render that fails here fails
  // at every scrape too, where it shows; it must not stop the server from starting.
  await metrics.render().catch(() => {});
  onReconnect = metrics.cluster.redisReconnected;
  instrumentSync(services, metrics.cluster);
  const limiter = instrumentLimiter(realtime.limiter, metrics.cluster);
  const drain = createDrain();
  // Unproved for five probe rounds while Redis answers: the subscription is wedged.
  const readiness = readinessCheck({ store, realtime, draining: drain.draining, wedgedAfterMs: (overrides.busProbeIntervalMs ?? 2000) * 5 });
  const http = await buildHttp({ config, services, limiter, readiness, metrics, ...(overrides.logger ? { logger: overrides.logger } : {}) });
  log = http.log;
  const logger = http.log;
  // Every connection the HTTP server took, upgraded ones included: what a shutdown cuts if
  // it is still open late (see close()).
  const connections = new Set<Socket>();
  http.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });

  const stopFanout = startFanout({
    bus,
    hub,
    membersOf: (id) => services.membership.members(id),
    membersNow: (id) => services.membership.membersNow(id),
    onError: (err) => logger.error({ err }, 'fan-out failed'),
    wantsNotification: (connectionId, type) => services.notificationFilters.allows(connectionId, type as NotificationType),
    onLate: () => metrics.countLateEvent(),
  });
  const stopResync = startResync(bus, hub);
  const dispatch = drain.wrap(
    createDispatcher(services, limiter, (err, command, code) => {
      if (code === 'internal_error') return logger.error({ err, command }, 'command failed');
      metrics.countUnavailable('realtime');
      logger.warn({ command, err: { code: (err as { code?: unknown }).code, message: (err as Error).message } }, 'storage unavailable');
    }),
  );
  const cleanups = new Set<Promise<void>>();
  const track = (p: Promise<void>) => void cleanups.add(p.finally(() => cleanups.delete(p)));
  const expiries = new ExpiryQueue((err) => logger.error({ err }, 'session expiry failed'));
  const sessionDeps = { services, hub, dispatch, log: logger, frameBudget: config.frameBudget, expiries, track };
  const socketio = attachSocketIo(http.server, config, sessionDeps);
  const ws = attachWs(http.server, config, sessionDeps);
  const graphql = await attachGraphql(http, config, { ...sessionDeps, limiter });
  const sweeper = setInterval(
    () => void services.presence.sweep(config.realtime.presenceStaleMs).catch((err) => logger.error({ err }, 'presence sweep failed')),
    Math.max(250, Math.min(10_000, config.realtime.presenceStaleMs / 4)),
  );
  sweeper.unref();
  const stopBeat = startInstanceBeat({ instances: realtime.instances, id: realtime.instanceId, hub, everyMs: INSTANCE_BEAT_MS, onError: (err) => logger.warn({ err }, 'instance heartbeat failed') });
  const stopJobErrors = store.jobs.onError((err) => logger.error({ err }, 'job queue error'));
  const jobsStarted = performance.now();
  await store.jobs.start();
  onPhase('job queue', performance.now() - jobsStarted, {});
  const delivery = await startDelivery({
    services,
    jobs: store.jobs,
    bus,
    channels,
    email,
    digestIntervalMinutes: config.email.digestIntervalMinutes,
    productName: 'Parley',
    receiptDelayMs: config.push.expo.receiptDelaySeconds * 1000,
    ...(overrides.outboxSweepMs ? { outboxSweepMs: overrides.outboxSweepMs } : {}),
    onError: (err, what) => logger.error({ err }, `${what} failed`),
  });
  drainNotifyWork = delivery.poke;

  let closed: Promise<void> | null = null;
  let closeStartedAt = 0;
  /** The last shutdown phase that finished: what a shutdown past its bound reports it was stuck after. */
  let lastPhase = 'none';
  const phase = (what: string) => {
    lastPhase = what;
    logger.debug({ ms: Date.now() - closeStartedAt }, `shutdown: ${what}`);
  };
  const close = () =>
    (closed ??= (async () => {
      closeStartedAt ||= Date.now();
      clearInterval(sweeper);
      // Closing the sockets and the HTTP server waits for every connection to end: a peer
      // that never answers a WebSocket close frame (ws waits 30 s for it), a request that
      // never finishes arriving, a long-poll. Seen as an 8 s stop in a rolling replacement,
      // stuck after 'websockets closed' (io.close waits for the whole HTTP server). Past
      // CUT_CONNECTIONS_AT of the bound, whatever is still open is cut, so the phases finish
      // in time; its clients reconnect elsewhere like the others.
      const cutter = setTimeout(
        () => {
          if (connections.size) logger.warn({ open: connections.size, lastPhase }, 'shutdown: cutting connections still open');
          for (const socket of connections) socket.destroy();
        },
        Math.max(0, closeStartedAt + config.shutdownTimeoutMs * CUT_CONNECTIONS_AT - Date.now()),
      );
      cutter.unref();
      // Sockets first (close code 4001 / transport close: clients reconnect elsewhere), and
      // the sessions they end release their presence, typing and locks before Redis closes.
      await ws.close();
      await graphql.close();
      phase('websockets closed');
      await socketio.close();
      phase('socket.io closed');
      await Promise.allSettled([...cleanups]);
      phase('sessions released');
      await stopBeat();
      phase('instance beat stopped');
      await delivery.stop();
      phase('delivery stopped');
      stopJobErrors();
      stopFanout();
      stopResync();
      metrics.close();
      services.close();
      await http.close();
      phase('http closed');
      await realtime.close();
      phase('realtime ports closed');
      for (const channel of Object.values(channels)) await channel.close();
      await email?.close();
      phase('push and email closed');
      if (!overrides.store) await store.close();
      phase('storage closed');
      clearTimeout(cutter);
    })());

  return {
    http,
    delivery,
    services,
    store,
    bus,
    hub,
    realtime,
    async shutdown() {
      closeStartedAt = Date.now();
      drain.begin();
      // Stop accepting: new connections go to the other instances (GET /ready says 503 too).
      if (http.server.listening) http.server.close();
      logger.info({ connections: hub.size }, 'draining: finishing running commands');
      // Half the bound at most: a commit still running after that completes anyway (the
      // client's retry with the same clientMsgId finds it), but the sockets must close in time.
      const waited = await Promise.race([drain.settled().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), config.shutdownTimeoutMs / 2).unref())]);
      phase(waited ? 'running commands finished' : 'running commands still running: closing anyway');
      await close();
    },
    shutdownProgress: () => ({ lastPhase, ms: closeStartedAt ? Date.now() - closeStartedAt : 0 }),
    close,
  };
}
