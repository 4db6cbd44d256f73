import type { Conversation, ConversationEvent } from '../../../protocol/types.ts';

export interface ConversationsState {
  byId: Readonly<Record<string, Conversation>>;
  /** The first page of the list has arrived. */
  loaded: boolean;
  /** Where the next page of older conversations starts (null: none). */
  nextCursor: string | null;
  /** Unread messages over all conversations, muted ones left out: the server's count, kept live. */
  totalUnread: number;
}

export const emptyConversations: ConversationsState = { byId: {}, loaded: false, nextCursor: null, totalUnread: 0 };

export const isMuted = (c: Conversation, now = Date.now()): boolean => !!c.mutedUntil && Date.parse(c.mutedUntil) > now;

let lastById: ConversationsState['byId'] | null = null;
let lastList: Conversation[] = [];
/** The conversation list as shown: not archived, most recent activity first (same array until it changes). */
export function selectConversationList(s: ConversationsState): Conversation[] {
  if (s.byId !== lastById) {
    lastById = s.byId;
    lastList = Object.values(s.byId)
      .filter((c) => !c.archived)
      .sort((a, b) => (a.lastActivityAt < b.lastActivityAt ? 1 : a.lastActivityAt > b.lastActivityAt ? -1 : 0));
  }
  return lastList;
}

/**
 * One log event applied to a conversation's summary. A snapshot from REST already holds
 * everything up to its lastSeq, so older events (replayed by a sync) change nothing here.
 * Returns null when the event removes the caller from the conversation.
 */
export function applyToConversation(c: Conversation, ev: ConversationEvent, me: string | null): Conversation | null {
  if (ev.seq <= c.lastSeq) return c;
  const next: Conversation = { ...c, lastSeq: ev.seq };
  const myRead = c.members.find((m) => m.userId === me)?.readSeq ?? 0;
  switch (ev.type) {
    case 'message:new': {
      const { message } = ev.data as { message: Conversation['lastMessage'] & object };
      next.lastMessage = message;
      next.lastActivityAt = message.createdAt > c.lastActivityAt ? message.createdAt : c.lastActivityAt;
      if (message.senderId !== me) next.unreadCount = c.unreadCount + 1;
      // The conversation comes back from the archive with a new message, as on the server.
      next.archived = false;
      break;
    }
    case 'message:updated':
    case 'message:deleted': {
      const { message } = ev.data as { message: Conversation['lastMessage'] & object };
      if (c.lastMessage?.id === message.id) next.lastMessage = message;
      if (ev.type === 'message:deleted' && message.senderId !== me && message.seq > myRead && c.unreadCount > 0) next.unreadCount = c.unreadCount - 1;
      break;
    }
    case 'reaction:updated':
      if (c.lastMessage?.id === ev.data.messageId) next.lastMessage = { ...c.lastMessage, reactions: ev.data.reactions };
      break;
    case 'member:joined':
    case 'member:updated': {
      const { member } = ev.data;
      const known = c.members.some((m) => m.userId === member.userId);
      next.members = known ? c.members.map((m) => (m.userId === member.userId ? member : m)) : [...c.members, member];
      if (!known && ev.type === 'member:joined') next.memberCount = c.memberCount + 1;
      break;
    }
    case 'member:left':
      if (ev.data.userId === me) return null;
      next.members = c.members.filter((m) => m.userId !== ev.data.userId);
      next.memberCount = Math.max(0, c.memberCount - 1);
      break;
    case 'conversation:updated': {
      const { title, metadata, updatedAt } = ev.data.conversation;
      Object.assign(next, { title, metadata, updatedAt });
      break;
    }
  }
  return next;
}
