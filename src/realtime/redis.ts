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
 * Opens one connection. Commands fail at once while it is down (no offline queue): an ack
 * never waits for Redis, and callers fall back or retry instead of piling up memory.
 */
export async function openRedis(url: string, name: string, events: RedisEvents = {}): Promise<RedisClient> {
  const client = newClient(url, name);
  let connectedOnce = false;
  client.on('error', (err) => events.onError?.(name, err));
  client.on('ready', () => {
    if (connectedOnce) events.onReconnect?.(name);
    connectedOnce = true;
  });
  await client.connect();
  return client;
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
    // that stops reading; callers that must not wait on Redis race a timer of their own
    // (rate-limiter-redis.ts).
    commandOptions: { timeout: 0 },
    // PING every few seconds: a half-open connection (no RST, no FIN) is found and replaced.
    pingInterval: 5000,
    socket: { reconnectStrategy: backoff, connectTimeout: 2000 },
  });
}

/** Closes a client whatever its state (a down Redis must not stall shutdown). */
export async function closeRedis(client: RedisClient): Promise<void> {
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
