import type { Conversation, Member } from '../../protocol/types.ts';

export const memberName = (m: Pick<Member, 'userId' | 'name'>): string => m.name || m.userId;

/** The other person of a direct conversation (null for a group, or a direct one with yourself). */
export function peerOf(c: Conversation, me: string): Member | null {
  return c.kind === 'direct' ? (c.members.find((m) => m.userId !== me) ?? null) : null;
}

/** A group's title, or the names of its other members; a direct conversation's other person. */
export function conversationTitle(c: Conversation, me: string): string {
  if (c.kind === 'group' && c.title) return c.title;
  const others = c.members.filter((m) => m.userId !== me).map(memberName);
  if (others.length === 0) return c.title ?? 'Just you';
  return others.length > 3 ? `${others.slice(0, 3).join(', ')} +${c.memberCount - 4}` : others.join(', ');
}
