import { timeOrderedUuid } from '../domain/ids.ts';
import { LIMITS } from '../../protocol/limits.ts';
import type { HistoryQuery, ReceiptsQuery, SendMessage } from '../../protocol/schemas.ts';
import { canManage, editRefusal, statusAgainst } from '../domain/roles.ts';
import type { Actor, ConversationEvent, Message, MessageStatus } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import { type ServiceDeps, Unchanged } from './deps.ts';
import type { LockService } from './locks.ts';
import { decodeUserCursor, encodeUserCursor } from './cursor.ts';
import { changeMessage } from './message-change.ts';

const NOT_FOUND = 'Message not found';

const messageNew = (message: Message): ConversationEvent => ({
  type: 'message:new',
  conversationId: message.conversationId,
  seq: message.seq,
  data: { conversationId: message.conversationId, seq: message.seq, message },
});

/**
 * Messages: send (durable, idempotent, ordered), history, edit, soft delete, receipts.
 * A send is answered only after its transaction commits (invariant 1); the same
 * (conversation, sender, clientMsgId) always yields the original message (invariant 2);
 * every change takes the conversation's next contiguous seq (invariant 3).
 */
export function messageService(deps: ServiceDeps & { locks: Pick<LockService, 'assertNotLockedByOther'> }) {
  const { store, bus, now } = deps;

  async function memberOrNotFound(actor: Actor, conversationId: string, what: string): Promise<void> {
    if (!(await store.members.get(conversationId, actor.userId))) throw notFound(what);
  }

  /**
   * Adds `status` to the caller's own messages. It needs only the other members' lowest
   * markers, aggregated by the database: a page of history in a group of 10,000 reads one row,
   * not every member, and a page without the caller's messages reads none.
   */
  async function withStatus(messages: Message[], actor: Actor, conversationId: string): Promise<Message[]> {
    const own = (m: Message) => m.senderId === actor.userId && !m.deletedAt;
    if (!messages.some(own)) return messages;
    const others = await store.members.othersMarkers(conversationId, actor.userId);
    return messages.map((m) => (own(m) ? { ...m, status: statusAgainst(m.seq, others) } : m));
  }

  return {
    /** Returns the stored message and whether this call created it (false for a retry). */
    async send(actor: Actor, conversationId: string, input: SendMessage): Promise<{ message: Message; created: boolean }> {
      const draft: Message = {
        id: timeOrderedUuid(),
        conversationId,
        seq: 0,
        senderId: actor.userId,
        clientMsgId: input.clientMsgId,
        body: input.body,
        attachments: input.attachments ?? [],
        replyTo: input.replyTo ?? null,
        replyCount: 0,
        mentions: input.mentions ?? [],
        reactions: [],
        createdAt: now().toISOString(),
        editedAt: null,
        deletedAt: null,
      };
      // The store checks membership and the idempotency key first (a retry answers with the
      // original even when its content changed into something invalid), then mentions and
      // the reply target, all under the conversation's lock, in one round trip.
      // Nothing before this call awaits: the send is queued in call order, which is what
      // keeps one connection's back-to-back sends in seq order (see send-batch.ts).
      const result = await store.messages.send(draft);
      switch (result.outcome) {
        case 'not_member':
          throw notFound('Conversation not found');
        case 'invalid_mention':
        case 'invalid_reply':
          throw new AppError(result.outcome);
        case 'duplicate':
          return { message: (await store.messages.get(result.messageId))!, created: false };
        case 'created': {
          const message = { ...draft, seq: result.seq };
          await bus.publish({ kind: 'conversation', origin: actor.deviceId, event: messageNew(message) });
          return { message, created: true };
        }
      }
    },

    /** A page of history by seq: the newest by default, `before` to go back, `after` to go forward. */
    async list(actor: Actor, conversationId: string, q: HistoryQuery): Promise<{ messages: Message[]; hasMore: boolean }> {
      await memberOrNotFound(actor, conversationId, 'Conversation not found');
      const page = await store.messages.history(conversationId, {
        limit: q.limit ?? LIMITS.historyDefault,
        ...(q.before !== undefined ? { before: q.before } : {}),
        ...(q.after !== undefined ? { after: q.after } : {}),
        ...(q.replyTo !== undefined ? { replyTo: q.replyTo } : {}),
      });
      return { messages: await withStatus(page.messages, actor, conversationId), hasMore: page.hasMore };
    },

    async get(actor: Actor, messageId: string): Promise<Message> {
      const message = await store.messages.get(messageId);
      if (!message) throw notFound(NOT_FOUND);
      await memberOrNotFound(actor, message.conversationId, NOT_FOUND);
      return (await withStatus([message], actor, message.conversationId))[0]!;
    },

    /** The sender edits the body; a deleted message, or one locked by someone else, cannot be edited. */
    async edit(actor: Actor, messageId: string, body: string): Promise<Message> {
      await deps.locks.assertNotLockedByOther(actor, messageId);
      return changeMessage<Message>(deps, actor, messageId, async (tx, message, { seq, at }) => {
        const refusal = editRefusal(message, actor.userId);
        if (refusal) throw new AppError(refusal, refusal === 'forbidden' ? 'Only the sender edits a message' : undefined);
        const edited = await tx.messages.edit(messageId, body, at);
        const event: ConversationEvent = {
          type: 'message:updated',
          conversationId: message.conversationId,
          seq,
          data: { conversationId: message.conversationId, seq, message: edited },
        };
        await tx.events.append(event, at);
        return { result: edited, event };
      });
    },

    /** Soft delete by the sender (or a group admin): a tombstone with deletedAt stays. Repeats are no-ops. */
    async delete(actor: Actor, messageId: string): Promise<Message> {
      return changeMessage<Message>(deps, actor, messageId, async (tx, message, { seq, role, at }) => {
        if (message.senderId !== actor.userId && !canManage(role)) throw new AppError('forbidden', 'Only the sender or an admin deletes a message');
        if (message.deletedAt) return new Unchanged({ result: message, event: null });
        const tombstone = await tx.messages.softDelete(messageId, at);
        if (message.replyTo) await tx.messages.bumpReplyCount(message.replyTo, message.conversationId, -1);
        const event: ConversationEvent = {
          type: 'message:deleted',
          conversationId: message.conversationId,
          seq,
          data: { conversationId: message.conversationId, seq, messageId, message: tombstone },
        };
        await tx.events.append(event, at);
        return { result: tombstone, event };
      });
    },

    /**
     * How far the other members got with one message (sent, delivered or read): overall, from
     * their lowest markers, and a page of them by user id. A group of 10,000 reads one page of
     * its members' key and one aggregate, not every member.
     */
    async receipts(
      actor: Actor,
      messageId: string,
      q: ReceiptsQuery = {},
    ): Promise<{ messageId: string; seq: number; status: MessageStatus; members: { userId: string; status: MessageStatus }[]; nextCursor: string | null }> {
      const after = q.cursor ? decodeUserCursor(q.cursor) : '';
      const limit = q.limit ?? LIMITS.receiptsDefault;
      const message = await store.messages.get(messageId);
      if (!message) throw notFound(NOT_FOUND);
      await memberOrNotFound(actor, message.conversationId, NOT_FOUND);
      const [others, page] = await Promise.all([
        store.members.othersMarkers(message.conversationId, message.senderId),
        store.members.markersPage(message.conversationId, { excluding: message.senderId, after, limit: limit + 1 }),
      ]);
      const members = page.slice(0, limit);
      return {
        messageId,
        seq: message.seq,
        status: statusAgainst(message.seq, others),
        members: members.map((m) => ({ userId: m.userId, status: statusAgainst(message.seq, { count: 1, ...m }) })),
        nextCursor: page.length > limit ? encodeUserCursor(members.at(-1)!.userId) : null,
      };
    },
  };
}

export type MessageService = ReturnType<typeof messageService>;
