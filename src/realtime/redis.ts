import { createHash } from 'node:crypto';
import { createClient } from 'redis';

/**
 * Redis connections for the cluster mode (node-redis 6; chosen over ioredis 6 because both
 * passed the resubscribe test after CLIENT KILL and after a restart, and node-redis is the
 * one Redis maintains, typed, with sharded pub/sub built in: see docs/scaling.md).
 */
export type RedisClient = ReturnType<typeof newClient>;

export interface RedisEvents {
  /** The connection came back after a drop (counted as a reconnect in /metrics). */
  onReconnect?(name: string): void;
  onError?(name: string, err: unknown): void;
}

/**
 * Commands one connection holds unanswered at most: at 2,222 messages a second, 22 seconds of
 * publishes; far above what a healthy Redis leaves queued.
 */
export const QUEUE_BOUND = 50_000;

/** Reconnect quickly at first, then every second at most: an outage ends in about a second. */
const backoff = (retries: number) => Math.min(50 * 2 ** retries, 1000);

/**
 * How a connection's liveness is checked: a PING every `everyMs`; one left unanswered through
 * `misses` checks in a row means the connection is gone without a word (no FIN, no RST: a
 * peer that died, a NAT or a failover that dropped its state), and it is replaced. The kernel
 * would give up on it only when its retransmissions time out, about 15 minutes, all that time
 * with every command waiting. Counted in checks, not in time: a check runs only after the event
 * loop has read what arrived, so a stalled loop does not take a late answer for none.
 */
export interface Liveness {
  everyMs: number;
  misses: number;
}
const LIVENESS: Liveness = { everyMs: 5000, misses: 3 };

/** Each open client's liveness check, stopped by closeRedis. */
const watchdogs = new WeakMap<RedisClient, NodeJS.Timeout>();

/**
 * Opens one connection. Commands fail at once while it is down (no offline queue): an ack
 * never waits for Redis, and callers fall back or retry instead of piling up memory.
 */
export async function openRedis(url: string, name: string, events: RedisEvents = {}, liveness: Liveness = LIVENESS): Promise<RedisClient> {
  const client = newClient(url, name);
  let connectedOnce = false;
  client.on('error', (err) => events.onError?.(name, err));
  client.on('ready', () => {
    if (connectedOnce) events.onReconnect?.(name);
    connectedOnce = true;
  });
  await client.connect();
  watchdogs.set(client, watch(client, name, events, liveness));
  return client;
}

function watch(client: RedisClient, name: string, events: RedisEvents, liveness: Liveness): NodeJS.Timeout {
  /** The PING awaiting its answer, and the checks it has been awaited through. */
  let pending: { misses: number } | null = null;
  const timer = setInterval(() => {
    if (!client.isReady) {
      pending = null;
      return;
    }
    if (pending) {
      if (++pending.misses < liveness.misses) return;
      pending = null;
      events.onError?.(name, new Error(`no answer to PING through ${liveness.misses} checks ${liveness.everyMs} ms apart: replacing the connection`));
      // The same client on a new socket: what waits on the old one fails (callers fall back),
      // subscriptions are made again on the new one, and a failed connect retries by backoff.
      client.destroy();
      client.connect().catch((err: unknown) => events.onError?.(name, err));
      return;
    }
    const ping = { misses: 0 };
    pending = ping;
    const settled = () => {
      if (pending === ping) pending = null;
    };
    client.sendCommand(['PING']).then(settled, settled);
  }, liveness.everyMs);
  timer.unref();
  return timer;
}

function newClient(url: string, name: string) {
  return createClient({
    url,
    name: `parley-${name}`,
    disableOfflineQueue: true,
    // Commands written and not yet answered: past this, new ones fail at once. What bounds the
    // memory a Redis that stops answering can hold.
    commandsQueueMaxLength: QUEUE_BOUND,
    // No per-command timeout (node-redis 6 gives each command 5 s unless told otherwise). It
    // covers only a command not yet written to the socket: once written, its timer is let go
    // and the command waits for its answer however long it takes. And it is an
    // AbortSignal.timeout, which cannot be cleared: it fires 5 s after the answer anyway and
    // builds an abort error, about 40 µs a command (test/realtime-ports.test.ts), paid per
    // publish, count, typing mark and heartbeat. The queue bound above is what limits a Redis
    // that stops reading; callers race a timer of their own, cleared with the answer
    // (redis-guard.ts, rate-limiter-redis.ts), and a connection that stops answering is
    // replaced (watch, above).
    commandOptions: { timeout: 0 },
    socket: { reconnectStrategy: backoff, connectTimeout: 2000 },
  });
}

/** Closes a client whatever its state (a down Redis must not stall shutdown). */
export async function closeRedis(client: RedisClient): Promise<void> {
  clearInterval(watchdogs.get(client));
  watchdogs.delete(client);
  if (!client.isOpen) return;
  try {
    await Promise.race([client.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref())]);
  } catch {
    client.destroy();
  }
}

/**
 * A Lua script run by EVALSHA, loaded again after NOSCRIPT (a restarted Redis forgot it).
 * Atomic on the server: the check and the change cannot interleave with another instance.
 */
export function luaScript(source: string) {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> => {
    const options = { keys, arguments: args.map(String) };
    try {
      return await client.evalSha(sha, options);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      return client.eval(source, options);
    }
  };
}
