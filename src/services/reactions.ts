import type { Actor, ConversationEvent, Message } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import { type Outcome, type ServiceDeps, transact, Unchanged } from './deps.ts';

/**
 * Reactions: one per user per emoji. Adding one already there, or removing one that is
 * not, changes nothing and takes no seq; every real change is a `reaction:updated` entry.
 */
export function reactionService(deps: ServiceDeps) {
  const { store, bus, now } = deps;

  async function change(actor: Actor, messageId: string, emoji: string, action: 'add' | 'remove'): Promise<Message> {
    const located = await store.messages.get(messageId);
    if (!located) throw notFound('Message not found');
    const at = now();
    const { value } = await transact<Outcome<Message>>(store, async (tx) => {
      const slot = await tx.conversations.takeSeqAsMember(located.conversationId, actor.userId, { message: false, at });
      if (!slot) throw notFound('Message not found');
      const message = (await tx.messages.get(messageId))!;
      if (message.deletedAt) throw new AppError('message_deleted');
      const done =
        action === 'add'
          ? await tx.messages.addReaction(messageId, actor.userId, emoji, at)
          : await tx.messages.removeReaction(messageId, actor.userId, emoji);
      if (!done) return new Unchanged({ result: message, event: null });
      const reactions = await tx.messages.reactions(messageId);
      const { conversationId } = message;
      const event: ConversationEvent = {
        type: 'reaction:updated',
        conversationId,
        seq: slot.seq,
        data: { conversationId, seq: slot.seq, messageId, userId: actor.userId, emoji, action, reactions },
      };
      await tx.events.append(event, at);
      return { result: { ...message, reactions }, event };
    });
    if (value.event) await bus.publish({ kind: 'conversation', origin: actor.deviceId, event: value.event });
    return value.result;
  }

  return {
    add: (actor: Actor, messageId: string, emoji: string) => change(actor, messageId, emoji, 'add'),
    remove: (actor: Actor, messageId: string, emoji: string) => change(actor, messageId, emoji, 'remove'),
  };
}

export type ReactionService = ReturnType<typeof reactionService>;
