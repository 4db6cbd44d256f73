import type { Actor } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import type { LockHolder, LockStore } from '../realtime/locks.ts';
import type { ServiceDeps } from './deps.ts';
import type { MembershipCache } from './membership.ts';

/**
 * Edit locks: a member takes a message's lock while editing it; others are told
 * (`message:locked`) and their edits fail with `message_locked` until it is released,
 * expires (ttlMs), or the holder's connection goes away.
 */
export function lockService(deps: ServiceDeps & { locks: LockStore; membership: MembershipCache }, opts: { ttlMs: number }) {
  const { store, bus, locks, membership } = deps;
  const now = () => deps.now().getTime();
  const announce = (messageId: string, h: Pick<LockHolder, 'conversationId' | 'userId'>, expiresAt: number | null) =>
    bus.publish({
      kind: 'lock',
      update: { conversationId: h.conversationId, messageId, userId: h.userId, locked: expiresAt !== null, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() },
    });

  async function conversationOf(actor: Actor, messageId: string): Promise<string> {
    const message = await store.messages.get(messageId);
    if (!message || !(await membership.isMember(message.conversationId, actor.userId))) throw notFound('Message not found');
    return message.conversationId;
  }

  return {
    async lock(actor: Actor, messageId: string, connectionId: string): Promise<{ messageId: string; expiresAt: string }> {
      const conversationId = await conversationOf(actor, messageId);
      const expiresAt = now() + opts.ttlMs;
      const result = await locks.acquire(messageId, { userId: actor.userId, conversationId, connectionId, expiresAt }, now());
      if (!result.ok) throw new AppError('message_locked', `${result.holder.userId} is editing this message`);
      await announce(messageId, { conversationId, userId: actor.userId }, expiresAt);
      return { messageId, expiresAt: new Date(expiresAt).toISOString() };
    },
    async unlock(actor: Actor, messageId: string): Promise<{ messageId: string }> {
      const conversationId = await conversationOf(actor, messageId);
      if (await locks.release(messageId, actor.userId, now())) await announce(messageId, { conversationId, userId: actor.userId }, null);
      return { messageId };
    },
    /** Refuses a change to a message locked by someone else. */
    async assertNotLockedByOther(actor: Actor, messageId: string): Promise<void> {
      const holder = await locks.holder(messageId, now());
      if (holder && holder.userId !== actor.userId) throw new AppError('message_locked', `${holder.userId} is editing this message`);
    },
    async dropConnection(connectionId: string): Promise<void> {
      for (const { messageId, holder } of await locks.releaseConnection(connectionId)) await announce(messageId, holder, null);
    },
  };
}

export type LockService = ReturnType<typeof lockService>;
