import type { Actor, Member, Message } from '../domain/types.ts';
import { notFound } from '../errors.ts';
import type { Repos } from '../storage/store.ts';
import { type Outcome, type ServiceDeps, transact, type Unchanged } from './deps.ts';

export interface ChangeContext {
  /** The seq this change takes (released again if it turns out a no-op). */
  seq: number;
  role: Member['role'];
  at: Date;
}

/**
 * Runs a change to an existing message (edit, delete, reaction) under its conversation's
 * lock, after checking the caller is a member: non-members and unknown ids are the same
 * 404. The message is re-read under the lock, so it reflects every change committed before
 * this one. After COMMIT the change's event is published.
 */
export async function changeMessage<T>(
  deps: ServiceDeps,
  actor: Actor,
  messageId: string,
  fn: (tx: Repos, message: Message, ctx: ChangeContext) => Promise<Outcome<T> | Unchanged<Outcome<T>>>,
): Promise<T> {
  const { store, bus } = deps;
  const located = await store.messages.get(messageId);
  if (!located) throw notFound('Message not found');
  const at = deps.now();
  const { value } = await transact<Outcome<T>>(store, async (tx) => {
    const slot = await tx.conversations.takeSeqAsMember(located.conversationId, actor.userId, { message: false, at });
    if (!slot) throw notFound('Message not found');
    const message = (await tx.messages.get(messageId))!;
    return fn(tx, message, { seq: slot.seq, role: slot.role, at });
  });
  if (value.event) await bus.publish({ kind: 'conversation', origin: actor.deviceId, event: value.event });
  return value.result;
}
