import { randomUUID } from 'node:crypto';
import type { Bus, BusMessage, BusMeta, PublishedMessage } from './bus.ts';
import type { RedisClient } from './redis.ts';

export interface RedisBusOptions {
  /** For commands and publishing (shared with the other Redis ports). */
  client: RedisClient;
  /** A connection of its own: once subscribed it can do nothing else. */
  subscriber: RedisClient;
  prefix: string;
  instanceId: string;
  /** Sharded channels messages are spread over (by conversation or user). */
  shards?: number;
  /** How often every shard's subscription is proved by a round trip. */
  probeIntervalMs?: number;
}

type Envelope =
  /** A message from instance `i`, published at `t`. */
  | { i: string; t: number; m: PublishedMessage }
  /** A round trip of instance `i`'s own subscription. */
  | { i: string; probe: string }
  /** Instance `i` could not publish for a while: everyone may have missed its messages. */
  | { i: string; gap: true };

/** The key a message is routed by: one conversation's events keep their order on one shard. */
function routeKey(m: PublishedMessage): string {
  switch (m.kind) {
    case 'conversation':
      return m.event.conversationId;
    case 'read-state':
      return m.change.conversationId;
    case 'typing':
    case 'lock':
      return m.update.conversationId;
    case 'presence':
      return m.presence.userId;
    case 'notification':
      return m.userId;
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * The bus over Redis sharded pub/sub (SPUBLISH/SSUBSCRIBE). Channels `<prefix>bus:{n}`
 * land on different hash slots, so on Redis Cluster each message crosses one shard instead
 * of every node. A message reaches this instance's subscribers at once and other instances
 * through Redis (an instance ignores its own echo), so local clients are served while Redis
 * is down.
 *
 * A subscription is trusted only while it proves itself: every probe interval each shard
 * channel carries a probe that must come back. When the connection drops, a probe is lost,
 * or a peer says it could not publish, local subscribers get `resync` once the round trip
 * works again: whatever was missed is closed by clients' sync, never silently lost.
 */
export async function createRedisBus(o: RedisBusOptions): Promise<Bus> {
  const shards = o.shards ?? 16;
  const probeEvery = o.probeIntervalMs ?? 2000;
  const channels = Array.from({ length: shards }, (_, n) => `${o.prefix}bus:{${n}}`);
  const handlers = new Set<(m: BusMessage, meta: BusMeta) => void>();
  const stats = { published: 0, received: 0, resyncs: 0, dropped: 0 };

  /** Proved: every shard's last probe came back. Once lost, a resync is owed when it is back. */
  let healthy = false;
  let detail = 'subscribing';
  let since = Date.now();
  let owed = false;
  let publishFailed = false;
  /** Probe rounds sent and not yet back on every shard, oldest first. */
  const rounds = new Map<string, { waiting: Set<string>; sentAt: number }>();
  // A late probe is not a lost one (a loaded machine delays everything): a round counts as
  // lost only when none has come back for this long.
  const silenceMs = Math.max(3 * probeEvery, 1500);
  let provedAt = Date.now();

  const dispatch = (m: BusMessage, meta: BusMeta) => {
    for (const h of handlers) {
      try {
        h(m, meta);
      } catch {}
    }
  };
  const lose = (why: string) => {
    if (healthy) {
      owed = true;
      since = Date.now();
    }
    healthy = false;
    detail = why;
  };
  const raiseResync = (reason: string) => {
    stats.resyncs++;
    dispatch({ kind: 'resync', reason }, { publishedAt: Date.now(), local: true });
  };

  await o.subscriber.sSubscribe(channels, (raw, channel) => {
    const env = safeParse(raw);
    if (!env) return;
    if ('probe' in env) {
      const round = env.i === o.instanceId ? rounds.get(env.probe) : undefined;
      if (round) {
        round.waiting.delete(channel);
        if (round.waiting.size === 0) proved(env.probe);
      }
      return;
    }
    if (env.i === o.instanceId) return;
    if ('gap' in env) return raiseResync('peer_publish_gap');
    stats.received++;
    dispatch(env.m, { publishedAt: env.t, local: false });
  });
  o.subscriber.on('end', () => lose('subscription connection closed'));
  o.subscriber.on('error', () => lose('subscription connection failed'));
  o.subscriber.on('reconnecting', () => lose('subscription reconnecting'));
  /** Messages published while our publisher was down (or whose publish failed) never reached the others: say so. */
  const announceGap = () => {
    if (!publishFailed || !o.client.isReady) return;
    publishFailed = false;
    // Every instance subscribes to every shard: one channel carries it to all of them.
    o.client.sPublish(channels[0]!, JSON.stringify({ i: o.instanceId, gap: true })).catch(() => {
      publishFailed = true;
    });
  };
  o.client.on('ready', announceGap);

  function proved(nonce: string) {
    // This round and every older one are settled: pub/sub keeps order on one connection.
    for (const key of [...rounds.keys()]) {
      rounds.delete(key);
      if (key === nonce) break;
    }
    provedAt = Date.now();
    const wasOwed = owed;
    if (!healthy) since = Date.now();
    healthy = true;
    detail = 'subscribed';
    owed = false;
    if (wasOwed) raiseResync('subscription_restored');
  }

  let tickedAt = Date.now();
  function probe() {
    const now = Date.now();
    // A tick that comes late means this process was stalled: the answers may be waiting
    // unread in the socket, so no verdict until the loop has read them.
    const stalled = now - tickedAt > 2 * probeEvery;
    tickedAt = now;
    if (!stalled && rounds.size && now - provedAt > silenceMs) lose(`no probe round trip within ${now - provedAt} ms`);
    // A publish can fail with the client still ready (no reconnect, so no 'ready' to announce
    // the gap): every tick tries again until the others are told.
    announceGap();
    if (!o.client.isReady || !o.subscriber.isReady) {
      rounds.clear();
      return lose(o.subscriber.isReady ? 'publisher not connected' : 'subscriber not connected');
    }
    // Rounds that will never complete (sent before a drop) are not kept forever.
    for (const [key, round] of rounds) if (now - round.sentAt > 10 * silenceMs) rounds.delete(key);
    const nonce = randomUUID();
    rounds.set(nonce, { waiting: new Set(channels), sentAt: now });
    const body = JSON.stringify({ i: o.instanceId, probe: nonce });
    for (const channel of channels) o.client.sPublish(channel, body).catch(() => lose('probe publish failed'));
  }
  const timer = setInterval(probe, probeEvery);
  timer.unref();
  probe();
  // Ready only once every shard carried a message to us: the subscription really works.
  const started = Date.now();
  while (!healthy && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 10));
  if (!healthy) {
    clearInterval(timer);
    throw new Error(`Redis bus: subscription not working (${detail})`);
  }

  return {
    async publish(message) {
      stats.published++;
      const publishedAt = Date.now();
      dispatch(message, { publishedAt, local: true });
      if (!o.client.isReady) {
        stats.dropped++;
        publishFailed = true;
        return;
      }
      // Not awaited: the ack this publish follows must not wait for Redis.
      const channel = channels[hash(routeKey(message)) % shards]!;
      o.client.sPublish(channel, JSON.stringify({ i: o.instanceId, t: publishedAt, m: message })).catch(() => {
        stats.dropped++;
        publishFailed = true;
      });
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    health() {
      // A connection known to be down needs no probe to say so.
      if (healthy && !(o.subscriber.isReady && o.client.isReady)) lose(o.subscriber.isReady ? 'publisher not connected' : 'subscriber not connected');
      return { ok: healthy, detail, since };
    },
    stats: () => ({ ...stats }),
    async close() {
      clearInterval(timer);
      handlers.clear();
      await o.subscriber.sUnsubscribe(channels).catch(() => {});
    },
  };
}

function safeParse(raw: string): Envelope | null {
  try {
    return JSON.parse(raw) as Envelope;
  } catch {
    return null;
  }
}
