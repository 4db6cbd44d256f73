import type { Message, Notification, Presence, TypingUpdate } from '../../../domain/types.ts';
import type { GraphqlContext } from '../context.ts';
import { upper } from '../presenters.ts';

type Args = Record<string, unknown>;
/** A message as messageAdded delivers it: with the seq of the change it carries. */
export type DeliveredMessage = Message & { changeSeq?: number };

/**
 * Field resolvers where the GraphQL shape differs from the wire shape: enum values are
 * upper case, Loopify's names sit beside Parley's, and users come from the request's
 * loader (one query for every sender in the answer).
 */
export const Types = {
  Message: {
    sender: (m: Message, _: Args, ctx: GraphqlContext) => ctx.user(m.senderId),
    content: (m: Message) => m.body,
    status: (m: Message) => (m.status ? upper(m.status) : null),
    changeSeq: (m: DeliveredMessage) => m.changeSeq ?? null,
  },
  Conversation: {
    kind: (c: { kind: string }) => upper(c.kind),
    role: (c: { role: string }) => upper(c.role),
  },
  ConversationInfo: {
    kind: (c: { kind: string }) => upper(c.kind),
  },
  Member: {
    role: (m: { role: string }) => upper(m.role),
  },
  OnlineStatus: {
    isOnline: (p: Presence) => p.status !== 'offline',
    status: (p: Presence) => upper(p.status),
    lastSeen: (p: Presence) => p.lastSeenAt,
  },
  TypingIndicator: {
    isTyping: (t: TypingUpdate) => t.typing,
    user: (t: TypingUpdate, _: Args, ctx: GraphqlContext) => ctx.user(t.userId),
  },
  Notification: {
    read: (n: Notification) => n.readAt !== null,
  },
};
