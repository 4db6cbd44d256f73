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

/**
 * When the last owner leaves a group, the longest-standing admin (else member) inherits it,
 * so a group never ends up with nobody able to manage it.
 */
export function nextOwner<T extends { role: Role; joinedAt: string }>(remaining: T[]): T | null {
  const sorted = [...remaining].sort((a, b) => RANK[b.role] - RANK[a.role] || a.joinedAt.localeCompare(b.joinedAt));
  return sorted[0] ?? null;
}

/** A message is read when every other member's marker passed it, delivered likewise. */
export function statusFor(seq: number, others: { readSeq: number; deliveredSeq: number }[]): MessageStatus {
  if (others.length === 0) return 'sent';
  if (others.every((m) => m.readSeq >= seq)) return 'read';
  if (others.every((m) => m.deliveredSeq >= seq)) return 'delivered';
  return 'sent';
}
