import { UUID_PATTERN } from '../../protocol/schemas.ts';
import { isUserId } from '../domain/ids.ts';
import { parseInstant } from '../domain/instant.ts';
import { AppError } from '../errors.ts';

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_RE = new RegExp(UUID_PATTERN);

/** An opaque keyset cursor: the (time, id) of the last row of a page, newest first. */
export const encodeCursor = (at: string, id: string): string => Buffer.from(JSON.stringify([at, id])).toString('base64url');

/**
 * Only what encodeCursor produces: a toISOString() time that round-trips and that Postgres
 * can hold (year 0000 round-trips in JavaScript but not in Postgres), and a UUID.
 */
export function decodeCursor(raw: string): { at: string; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (typeof at === 'string' && ISO_RE.test(at) && parseInstant(at) !== null && new Date(at).toISOString() === at && typeof id === 'string' && UUID_RE.test(id)) {
      return { at, id: id.toLowerCase() };
    }
  } catch {}
  throw new AppError('validation_failed', 'cursor is not one this server issued');
}

/** An opaque keyset cursor over members by user id: the last user id of a page. */
export const encodeUserCursor = (userId: string): string => Buffer.from(JSON.stringify(['user', userId])).toString('base64url');

/** Only what encodeUserCursor produces. */
export function decodeUserCursor(raw: string): string {
  try {
    const [tag, userId] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (tag === 'user' && isUserId(userId)) return userId;
  } catch {}
  throw new AppError('validation_failed', 'cursor is not one this server issued');
}
