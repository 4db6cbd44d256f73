import { UUID_PATTERN } from '../../protocol/schemas.ts';
import { isUserId } from '../domain/ids.ts';
import { parseInstant } from '../domain/instant.ts';
import { AppError } from '../errors.ts';

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_RE = new RegExp(UUID_PATTERN);

/** Cursors are opaque to clients: the keyset of a page's last row, as base64url JSON. */
const encode = (keyset: unknown[]): string => Buffer.from(JSON.stringify(keyset)).toString('base64url');

/** `accept` answers the keyset it recognises, or undefined; anything else is refused. */
function decode<T>(raw: string, accept: (keyset: unknown[]) => T | undefined): T {
  try {
    const keyset: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    const found = Array.isArray(keyset) ? accept(keyset) : undefined;
    if (found !== undefined) return found;
  } catch {}
  throw new AppError('validation_failed', 'cursor is not one this server issued');
}

/** An opaque keyset cursor: the (time, id) of the last row of a page, newest first. */
export const encodeCursor = (at: string, id: string): string => encode([at, id]);

/** A toISOString() time that round-trips and that Postgres can hold (year 0000 round-trips in JavaScript but not in Postgres). */
const isCursorTime = (at: unknown): at is string => typeof at === 'string' && ISO_RE.test(at) && parseInstant(at) !== null && new Date(at).toISOString() === at;

/** Only what encodeCursor produces: a cursor time and a UUID. */
export const decodeCursor = (raw: string): { at: string; id: string } =>
  decode(raw, ([at, id]) => (isCursorTime(at) && typeof id === 'string' && UUID_RE.test(id) ? { at, id: id.toLowerCase() } : undefined));

/** An opaque keyset cursor over members by user id: the last user id of a page. */
export const encodeUserCursor = (userId: string): string => encode(['user', userId]);

/** Only what encodeUserCursor produces. */
export const decodeUserCursor = (raw: string): string => decode(raw, ([tag, userId]) => (tag === 'user' && isUserId(userId) ? userId : undefined));

/** Microseconds since 1970 as a decimal string: within timestamptz's range whatever its value. */
const MICROS_RE = /^-?\d{1,16}$/;

/**
 * An opaque keyset cursor over members in join order: the (join time, user id) of a page's last
 * member, the time in microseconds as the database holds it (an ISO time's milliseconds would
 * fall between two members who joined within one millisecond).
 */
export const encodeMemberCursor = (joinedAtUs: string, userId: string): string => encode(['member', joinedAtUs, userId]);

/** Only what encodeMemberCursor produces. */
export const decodeMemberCursor = (raw: string): { joinedAtUs: string; userId: string } =>
  decode(raw, ([tag, joinedAtUs, userId]) =>
    tag === 'member' && typeof joinedAtUs === 'string' && MICROS_RE.test(joinedAtUs) && isUserId(userId) ? { joinedAtUs, userId } : undefined,
  );
