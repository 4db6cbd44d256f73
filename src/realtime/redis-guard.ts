import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from 'redis';
import { Unreachable } from '../unavailable.ts';

/** How long a port's call waits for Redis before it fails as unreachable. */
export const REDIS_WAIT_MS = 5000;

/** node-redis's ways of saying the connection is not there (no reply from Redis itself). */
const CONNECTION_ERRORS = [ClientClosedError, ClientOfflineError, ConnectionTimeoutError, DisconnectsClientError, ReconnectStrategyError, SocketClosedUnexpectedlyError, SocketTimeoutError];
const isConnectionError = (err: unknown) =>
  CONNECTION_ERRORS.some((kind) => err instanceof kind) ||
  // The client's queue bound (redis.ts): Redis has stopped answering.
  (err instanceof Error && err.message === 'The queue is full');

/**
 * `answer`, or what `late()` gives once `waitMs` has passed without it. A timer of ours,
 * cleared with the answer (node-redis's own per-command timeout is off, redis.ts says why).
 */
export function withinWait<T>(answer: Promise<T>, waitMs: number, late: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => late().then(resolve, reject), waitMs);
    answer.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * A Redis-backed port whose every call ends: answered, or failed as `Unreachable` (the
 * retryable `unavailable`, 503 with Retry-After) when the connection is down or Redis has
 * not answered within `waitMs`. Without it a command sent while Redis was down failed as an
 * `internal_error`, and one sent to a Redis that stopped answering waited for ever: node-redis
 * has no timeout for a command once written (redis.ts). Errors Redis itself answered (a
 * script's) and the port's own stay what they are.
 */
export function guarded<T extends object>(port: T, name: string, waitMs = REDIS_WAIT_MS): T {
  const out = {} as Record<string, unknown>;
  for (const [key, value] of Object.entries(port)) {
    if (typeof value !== 'function') {
      out[key] = value;
      continue;
    }
    const call = value as (...args: unknown[]) => Promise<unknown>;
    const unreachable = (err: unknown) => {
      throw isConnectionError(err) ? new Unreachable(`Redis unreachable for ${name}.${key}: ${(err as Error).message}`, { cause: err }) : err;
    };
    const late = () => Promise.reject(new Unreachable(`Redis did not answer ${name}.${key} within ${waitMs} ms`));
    out[key] = (...args: unknown[]) => {
      let answer: Promise<unknown>;
      try {
        answer = call.apply(port, args);
      } catch (err) {
        answer = Promise.reject(err);
      }
      return withinWait(answer.catch(unreachable), waitMs, late);
    };
  }
  return out as T;
}
