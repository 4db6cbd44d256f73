import { clip } from '../domain/text.ts';
import type { Actor, ConversationEvent, Message } from '../domain/types.ts';
import { AppError } from '../errors.ts';
import { type ServiceDeps, Unchanged } from './deps.ts';
import { changeMessage } from './message-change.ts';

/**
 * Reactions: one per user per emoji. Adding one already there, or removing one that is
 * not, changes nothing and takes no seq; every real change is a `reaction:updated` entry.
 */
export function reactionService(deps: ServiceDeps) {
  function change(actor: Actor, messageId: string, emoji: string, action: 'add' | 'remove'): Promise<Message> {
    return changeMessage<Message>(deps, actor, messageId, async (tx, message, { seq, at }) => {
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
        seq,
        data: { conversationId, seq, messageId, userId: actor.userId, emoji, action, reactions },
      };
      await tx.events.append(event, at);
      // A reaction to someone else's message may notify its author (decided by the dispatcher).
      if (action === 'add' && message.senderId !== actor.userId) {
        await tx.notifyWork.addOutbox({
          kind: 'reaction',
          conversationId,
          seq,
          actorId: actor.userId,
          messageId,
          recipients: [message.senderId],
          mentions: [],
          data: { emoji, body: clip(message.body, 400, '') },
          createdAt: at.toISOString(),
        });
      }
      return { result: { ...message, reactions }, event };
    });
  }

  return {
    add: (actor: Actor, messageId: string, emoji: string) => change(actor, messageId, emoji, 'add'),
    remove: (actor: Actor, messageId: string, emoji: string) => change(actor, messageId, emoji, 'remove'),
  };
}

export type ReactionService = ReturnType<typeof reactionService>;
