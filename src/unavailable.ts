/**
 * Failures that mean "storage cannot be reached right now", as opposed to bugs: the
 * connection was refused, reset or cut, the server is shutting down or not accepting
 * connections yet. They become the retryable `unavailable` (503 with Retry-After) instead
 * of `internal_error`; a send that failed so is safe to retry with its clientMsgId.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATE: class 08 (connection exception), operator intervention (shutdown, starting up), too many connections.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
// node-postgres says these in words only.
const PG_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly)/;

/** A store that did not answer in time, or whose connection is down, said by the code that knows (realtime/redis-guard.ts). */
export class Unreachable extends Error {
  override name = 'Unreachable';
}

/** Seconds a client should wait before retrying. */
export const UNAVAILABLE_RETRY_AFTER_SEC = 2;

export function isStorageUnavailable(err: unknown): boolean {
  // Wrappers (pg-boss, AggregateError of several attempts) keep the real cause inside.
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof Unreachable) return true;
    const { code, message, cause, errors } = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || SQLSTATES.has(code))) return true;
    if (typeof message === 'string' && PG_MESSAGES.test(message)) return true;
    if (Array.isArray(errors) && errors.some((x) => isStorageUnavailable(x))) return true;
    e = cause;
  }
  return false;
}
