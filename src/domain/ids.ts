import { createHash } from 'node:crypto';
import { USER_ID_PATTERN } from '../../protocol/limits.ts';

const USER_ID_RE = new RegExp(USER_ID_PATTERN);
export const isUserId = (s: unknown): s is string => typeof s === 'string' && USER_ID_RE.test(s);

/** Key of a direct conversation: one per unordered pair of users (ids hold no newline). */
export const directKey = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);

/**
 * A UUID derived from a key (the layout of a version 5 UUID, over SHA-256): the same key
 * gives the same id, which makes enqueueing a job for that key idempotent.
 */
export function stableUuid(key: string): string {
  const h = createHash('sha256').update(key).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
