import { Type } from '@sinclair/typebox';
import { USER_ID_PATTERN } from '../../../../protocol/limits.ts';
import { Seq, Uuid } from '../../../../protocol/schemas.ts';
import type { Message, Notification, Presence, TypingUpdate } from '../../../domain/types.ts';
import { AppError, notFound } from '../../../errors.ts';
import { argsOf } from '../args.ts';
import type { GraphqlContext } from '../context.ts';
import { coded } from '../errors.ts';
import { iterate } from '../live.ts';
import { shareExecution } from '../shared-execution.ts';
import { followLog, type LogItem } from '../replay.ts';
import type { DeliveredMessage } from './types.ts';

type Args = Record<string, unknown>;
type Reset = Extract<LogItem, { kind: 'reset' }>;

const logArgs = argsOf(Type.Object({ conversationId: Uuid, since: Type.Optional(Seq) }));
const conversationArgs = argsOf(Type.Object({ conversationId: Uuid }));
const userIdsArgs = argsOf(
  Type.Object({ userIds: Type.Array(Type.String({ pattern: USER_ID_PATTERN }), { minItems: 1, maxItems: 200, uniqueItems: true }) }),
);

/**
 * What a change yields, made once per change: a live change's data is the hub's one object
 * for every subscriber on this instance, so they all get one source event, executed once
 * per operation for all of them (shared-execution.ts). The fields of Message and
 * ConversationEvent read nothing of the viewer but public profiles.
 */
function oncePerChange<T extends object>(): (data: object, make: () => T) => T {
  const made = new WeakMap<object, T>();
  return (data, make) => {
    let event = made.get(data);
    if (!event) {
      event = shareExecution(make());
      made.set(data, event);
    }
    return event;
  };
}
const deliveredMessage = oncePerChange<DeliveredMessage>();
const conversationEvent = oncePerChange<object>();

/** Each message change as the message after it (a reaction's is read back: its event carries only the reactions). */
function messageOf(ctx: GraphqlContext) {
  return (item: LogItem): DeliveredMessage | Reset | undefined | Promise<DeliveredMessage | undefined> => {
    if (item.kind === 'reset') return item;
    const { type, seq, data } = item.change;
    if (type === 'message:new' || type === 'message:updated' || type === 'message:deleted') {
      return deliveredMessage(data as object, () => ({ ...(data as { message: Message }).message, changeSeq: seq }));
    }
    if (type !== 'reaction:updated') return undefined;
    return ctx.services.messages.get(ctx.actor, (data as { messageId: string }).messageId).then(
      (message) => ({ ...message, changeSeq: seq }),
      (err: unknown) => {
        // Removed from the conversation meanwhile: the log says so next, and the stream ends.
        if (err instanceof AppError && err.code === 'not_found') return undefined;
        throw err;
      },
    );
  };
}

const eventOf = (item: LogItem) =>
  item.kind === 'reset'
    ? { type: 'reset', conversationId: item.conversationId, seq: item.lastSeq }
    : conversationEvent(item.change.data as object, () => ({ ...(item.change.data as object), type: item.change.type, conversationId: item.change.conversationId, seq: item.change.seq }));

const same = <T>(x: T): T => x;

/** A live-only subscription: a feed of the hub's events for this socket, selected by `select`. */
function liveFeed<T>(ctx: GraphqlContext, select: (event: string, data: unknown) => T | undefined, opts: { max: number; conversationId?: string }) {
  return ctx.requireLive().open<T>(select, opts);
}

/**
 * Subscriptions, over the WebSocket only. messageAdded and conversationEvents recover
 * (see replay.ts); the others are live signals. Each is refused for a conversation the
 * caller is not in (not_found, as everywhere) and ends when the caller leaves it.
 */
export const Subscription = {
  messageAdded: {
    async subscribe(_: unknown, raw: Args, ctx: GraphqlContext) {
      const a = logArgs(raw);
      const { feed, items } = await followLog(ctx, a.conversationId, a.since ?? null, messageOf(ctx));
      return iterate(items, feed);
    },
    resolve(item: DeliveredMessage | Reset) {
      if ('kind' in item && item.kind === 'reset') {
        throw coded('sync_reset', `More changes were missed than PARLEY_SYNC_LIMIT: reload the history; live changes follow after seq ${item.lastSeq}`, { lastSeq: item.lastSeq });
      }
      return item;
    },
  },

  conversationEvents: {
    async subscribe(_: unknown, raw: Args, ctx: GraphqlContext) {
      const a = logArgs(raw);
      const { feed, items } = await followLog(ctx, a.conversationId, a.since ?? null, eventOf);
      return iterate(items, feed);
    },
    resolve: same,
  },

  typingIndicators: {
    async subscribe(_: unknown, raw: Args, ctx: GraphqlContext) {
      const { conversationId } = conversationArgs(raw);
      const feed = liveFeed(ctx, (event, data) => (event === 'typing:update' && (data as TypingUpdate).conversationId === conversationId ? (data as TypingUpdate) : undefined), {
        max: 100,
        conversationId,
      });
      // Checked after the feed opened: a removal in between still ends it.
      if (!(await ctx.services.membership.isMember(conversationId, ctx.actor.userId))) {
        feed.end();
        throw notFound('Conversation not found');
      }
      return iterate(feed.drain(), feed);
    },
    resolve: same,
  },

  userOnlineStatusChanged: {
    subscribe(_: unknown, raw: Args, ctx: GraphqlContext) {
      const watched = new Set(userIdsArgs(raw).userIds);
      const feed = liveFeed(ctx, (event, data) => (event === 'presence:update' && watched.has((data as Presence).userId) ? (data as Presence) : undefined), { max: 200 });
      return iterate(feed.drain(), feed);
    },
    resolve: same,
  },

  unreadCountUpdated: {
    subscribe(_: unknown, _a: Args, ctx: GraphqlContext) {
      const me = ctx.actor.userId;
      // Only the latest trigger is kept: the count is read when the client takes it.
      const feed = liveFeed(
        ctx,
        (event, data) => {
          const d = data as { conversationId: string; message?: Message };
          if (event === 'unread:update' || event === 'message:deleted') return d.conversationId;
          if (event === 'message:new' && d.message?.senderId !== me) return d.conversationId;
          return undefined;
        },
        { max: 1 },
      );
      async function* counts() {
        for await (const conversationId of feed.drain()) {
          const unread = await ctx.services.readState.unread(ctx.actor);
          yield { total: unread.totalUnread, conversationId, conversationUnread: unread.conversations[conversationId] ?? 0 };
        }
      }
      return iterate(counts(), feed);
    },
    resolve: same,
  },

  notificationAdded: {
    subscribe(_: unknown, _a: Args, ctx: GraphqlContext) {
      const feed = liveFeed(ctx, (event, data) => (event === 'notification:new' ? (data as { notification: Notification }).notification : undefined), { max: 1000 });
      return iterate(feed.drain(), feed);
    },
    resolve: same,
  },
};
