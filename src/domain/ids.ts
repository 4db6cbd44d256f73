import { createHash, randomUUID } from 'node:crypto';
import { USER_ID_PATTERN } from '../../protocol/limits.ts';

const USER_ID_RE = new RegExp(USER_ID_PATTERN);
export const isUserId = (s: unknown): s is string => typeof s === 'string' && USER_ID_RE.test(s);

/** Key of a direct conversation: one per unordered pair of users (ids hold no newline). */
export const directKey = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);

const hex = (b: Buffer) => {
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
};

/**
 * A UUID derived from a key (the layout of a version 5 UUID, over SHA-256): the same key
 * gives the same id, which makes enqueueing a job for that key idempotent.
 */
export function stableUuid(key: string): string {
  const h = createHash('sha256').update(key).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return hex(h.subarray(0, 16));
}

/**
 * A version 7 UUID: 48 bits of milliseconds, then random bits. Ids made one after another
 * sort together, so a new message's primary-key entry lands at the right edge of the index
 * instead of on a random page of it (fewer pages touched and written per send).
 */
export function timeOrderedUuid(now = Date.now()): string {
  // The random bits come from a version 4 UUID: Node draws those from a cached block of
  // entropy, where randomBytes(16) made a call into the crypto library for every message.
  // Kept: its 12 bits after the version digit, and its variant and 62 bits after that.
  const r = randomUUID();
  const ms = now.toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${r.slice(15, 18)}-${r.slice(19)}`;
}
