import type { MessageStatus, Role } from './types.ts';

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

/** Admins and owners change a group's title, metadata and members. */
export const canManage = (role: Role): boolean => RANK[role] >= RANK.admin;

/**
 * Why `userId` may not edit `message` (only its sender edits, and never once deleted), or
 * null when it may. Editing and taking the edit lock follow this one rule.
 */
export const editRefusal = (message: { senderId: string; deletedAt: string | null }, userId: string): 'forbidden' | 'message_deleted' | null =>
  message.senderId !== userId ? 'forbidden' : message.deletedAt ? 'message_deleted' : null;

/** One may remove only those ranked strictly below; the owner is never removed, only leaves. */
export const canRemove = (actor: Role, target: Role): boolean => target !== 'owner' && RANK[actor] > RANK[target];

/** Only the owner hands out roles, and ownership itself moves only by the owner leaving. */
export const canSetRole = (actor: Role, target: Role, next: Role): boolean =>
  actor === 'owner' && target !== 'owner' && next !== 'owner';

/** How many other members there are, and the lowest of their read and delivered markers. */
export interface OthersMarkers {
  count: number;
  readSeq: number;
  deliveredSeq: number;
}

/** A message is read when every other member's marker passed it (the lowest did), delivered likewise. */
export function statusAgainst(seq: number, others: OthersMarkers): MessageStatus {
  if (others.count === 0) return 'sent';
  if (others.readSeq >= seq) return 'read';
  if (others.deliveredSeq >= seq) return 'delivered';
  return 'sent';
}
