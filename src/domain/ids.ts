import { USER_ID_PATTERN } from '../../protocol/limits.ts';

const USER_ID_RE = new RegExp(USER_ID_PATTERN);
export const isUserId = (s: unknown): s is string => typeof s === 'string' && USER_ID_RE.test(s);

/** Key of a direct conversation: one per unordered pair of users (ids hold no newline). */
export const directKey = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
