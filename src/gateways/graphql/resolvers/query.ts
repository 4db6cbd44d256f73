import { Type } from '@sinclair/typebox';
import { LIMITS, USER_ID_PATTERN } from '../../../../protocol/limits.ts';
import { NotificationTypeSchema, Uuid } from '../../../../protocol/schemas.ts';
import type { Conversation, Message, Notification } from '../../../domain/types.ts';
import { encodeCursor } from '../../../services/cursor.ts';
import { argsOf } from '../args.ts';
import type { GraphqlContext } from '../context.ts';
import { connection, messageCursor, seqOfCursor } from '../presenters.ts';

type Args = Record<string, unknown>;
const Cursor = Type.String({ minLength: 1, maxLength: 200 });
const First = (max: number) => Type.Integer({ minimum: 1, maximum: max });

const conversationsArgs = argsOf(Type.Object({ first: First(LIMITS.conversationsMax), after: Type.Optional(Cursor), archived: Type.Optional(Type.Boolean()) }));
const messagesArgs = argsOf(
  Type.Object({ conversationId: Uuid, first: First(LIMITS.historyMax), after: Type.Optional(Cursor), replyTo: Type.Optional(Uuid) }),
);
// A member cursor holds a user id of up to 128 characters.
const membersArgs = argsOf(
  Type.Object({ conversationId: Uuid, first: First(LIMITS.memberPageMax), after: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })) }),
);
const userIdsArgs = argsOf(
  Type.Object({ userIds: Type.Array(Type.String({ pattern: USER_ID_PATTERN }), { minItems: 1, maxItems: 200, uniqueItems: true }) }),
);
const idArgs = argsOf(Type.Object({ id: Uuid }));
const notificationsArgs = argsOf(
  Type.Object({ first: First(100), after: Type.Optional(Cursor), unread: Type.Optional(Type.Boolean()), type: Type.Optional(NotificationTypeSchema) }),
);

const byActivity = (c: Conversation) => encodeCursor(c.lastActivityAt, c.id);
const byCreation = (n: Notification) => encodeCursor(n.createdAt, n.id);

/** Queries: parse the arguments, call one service, present a connection where it pages. */
export const Query = {
  async conversations(_: unknown, raw: Args, ctx: GraphqlContext) {
    const a = conversationsArgs(raw);
    const page = await ctx.services.conversations.list(ctx.actor, { limit: a.first, ...(a.after ? { cursor: a.after } : {}), archived: a.archived ?? false });
    return connection(page.conversations, byActivity, page.nextCursor !== null);
  },

  async conversationMessages(_: unknown, raw: Args, ctx: GraphqlContext) {
    const a = messagesArgs(raw);
    const page = await ctx.services.messages.list(ctx.actor, a.conversationId, {
      limit: a.first,
      ...(a.after ? { before: seqOfCursor(a.after) } : {}),
      ...(a.replyTo ? { replyTo: a.replyTo } : {}),
    });
    return connection<Message>(page.messages.reverse(), (m) => messageCursor(m.seq), page.hasMore);
  },

  unreadMessageCount: async (_: unknown, _a: Args, ctx: GraphqlContext) => (await ctx.services.readState.unread(ctx.actor)).totalUnread,

  usersOnlineStatus: (_: unknown, raw: Args, ctx: GraphqlContext) => ctx.services.presence.query(ctx.actor, userIdsArgs(raw).userIds),

  async conversationMembers(_: unknown, raw: Args, ctx: GraphqlContext) {
    const a = membersArgs(raw);
    const page = await ctx.services.members.page(ctx.actor, a.conversationId, { limit: a.first, ...(a.after ? { cursor: a.after } : {}) });
    const cursors = new Map(page.members.map((m, k) => [m.userId, page.cursors[k]!]));
    return { ...connection(page.members, (m) => cursors.get(m.userId)!, page.nextCursor !== null), totalCount: page.memberCount };
  },

  me: (_: unknown, _a: Args, ctx: GraphqlContext) => ctx.services.users.me(ctx.actor),

  conversation: (_: unknown, raw: Args, ctx: GraphqlContext) => ctx.services.conversations.get(ctx.actor, idArgs(raw).id),

  message: (_: unknown, raw: Args, ctx: GraphqlContext) => ctx.services.messages.get(ctx.actor, idArgs(raw).id),

  async notifications(_: unknown, raw: Args, ctx: GraphqlContext) {
    const a = notificationsArgs(raw);
    const page = await ctx.services.notifications.list(ctx.actor, {
      limit: a.first,
      ...(a.after ? { cursor: a.after } : {}),
      ...(a.unread !== undefined ? { unread: a.unread } : {}),
      ...(a.type ? { type: a.type } : {}),
    });
    return connection(page.notifications, byCreation, page.nextCursor !== null);
  },

  notificationUnreadCount: async (_: unknown, _a: Args, ctx: GraphqlContext) => (await ctx.services.notifications.unreadCount(ctx.actor)).unreadCount,
};
