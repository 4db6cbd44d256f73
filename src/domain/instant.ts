/**
 * Instants that come from clients (keyset cursors, mute ends, status expiries) are stored
 * in Postgres `timestamptz`. JavaScript dates reach year 275760 and year 0, Postgres has no
 * year 0; what both hold exactly is years 1 to 9999 at millisecond precision. Anything
 * outside is refused at the edge: it would otherwise fail inside SQL as a 500.
 */
export const INSTANT_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const INSTANT_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** True for a real time (not NaN) that Postgres and JavaScript both store exactly. */
export function isStorableInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= INSTANT_MIN_MS && ms <= INSTANT_MAX_MS;
}

/**
 * A client's RFC 3339 date-time as epoch milliseconds, or null when it names no storable
 * instant: a second 60, February 30th, or a year outside 1-9999 (offsets included: a
 * `9999-12-31T23:59:59-01:00` is already in year 10000).
 */
export function parseInstant(text: string): number | null {
  const ms = Date.parse(text);
  return isStorableInstant(ms) ? ms : null;
}
