import { editRefusal } from '../domain/roles.ts';
import type { Actor, Message } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import type { LockHolder, LockStore } from '../realtime/locks.ts';
import type { ServiceDeps } from './deps.ts';
import type { MembershipCache } from './membership.ts';

/**
 * Edit locks: whoever may edit a message (its sender, see `editRefusal`) takes its lock
 * while editing; the other members are told (`message:locked`) and edits from anyone else
 * fail with `message_locked` until it is released, expires (ttlMs), the holder's connection
 * goes away, or the holder leaves or is removed from the conversation. The rules live here,
 * so every LockStore (memory, Redis) inherits them.
 */
export function lockService(deps: ServiceDeps & { locks: LockStore; membership: MembershipCache }, opts: { ttlMs: number }) {
  const { store, bus, locks, membership } = deps;
  const now = () => deps.now().getTime();
  const announce = (messageId: string, h: Pick<LockHolder, 'conversationId' | 'userId'>, expiresAt: number | null) =>
    bus.publish({
      kind: 'lock',
      update: { conversationId: h.conversationId, messageId, userId: h.userId, locked: expiresAt !== null, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() },
    });
  const announceAll = async (released: { messageId: string; holder: LockHolder }[]) => {
    for (const { messageId, holder } of released) await announce(messageId, holder, null);
  };

  async function visibleMessage(actor: Actor, messageId: string): Promise<Message> {
    const message = await store.messages.get(messageId);
    if (!message || !(await membership.isMember(message.conversationId, actor.userId))) throw notFound('Message not found');
    return message;
  }

  // A member who leaves or is removed holds nothing any more. Every instance sees the event;
  // the store answers only the instance that actually released a lock, so one announces it.
  const unsubscribe = bus.subscribe((m) => {
    if (m.kind !== 'conversation' || m.event.type !== 'member:left') return;
    const { conversationId, userId } = m.event.data;
    void locks.releaseHolder(conversationId, userId).then(announceAll, () => {});
  });

  return {
    async lock(actor: Actor, messageId: string, connectionId: string): Promise<{ messageId: string; expiresAt: string }> {
      const message = await visibleMessage(actor, messageId);
      const refusal = editRefusal(message, actor.userId);
      if (refusal) throw new AppError(refusal, refusal === 'forbidden' ? 'Only someone who may edit a message locks it' : undefined);
      const { conversationId } = message;
      const expiresAt = now() + opts.ttlMs;
      const result = await locks.acquire(messageId, { userId: actor.userId, conversationId, connectionId, expiresAt }, now());
      if (!result.ok) throw new AppError('message_locked', `${result.holder.userId} is editing this message`);
      await announce(messageId, { conversationId, userId: actor.userId }, expiresAt);
      return { messageId, expiresAt: new Date(expiresAt).toISOString() };
    },
    async unlock(actor: Actor, messageId: string): Promise<{ messageId: string }> {
      const { conversationId } = await visibleMessage(actor, messageId);
      if (await locks.release(messageId, actor.userId, now())) await announce(messageId, { conversationId, userId: actor.userId }, null);
      return { messageId };
    },
    /** Refuses a change to a message locked by someone else. */
    async assertNotLockedByOther(actor: Actor, messageId: string): Promise<void> {
      const holder = await locks.holder(messageId, now());
      if (holder && holder.userId !== actor.userId) throw new AppError('message_locked', `${holder.userId} is editing this message`);
    },
    async dropConnection(connectionId: string): Promise<void> {
      await announceAll(await locks.releaseConnection(connectionId));
    },
    close: unsubscribe,
  };
}

export type LockService = ReturnType<typeof lockService>;
