import type { Actor } from '../domain/types.ts';
import { notFound } from '../errors.ts';
import type { Bus } from '../realtime/bus.ts';
import type { TypingStore } from '../realtime/typing.ts';
import type { MembershipCache } from './membership.ts';

export interface TypingOptions {
  /** A typer not heard from for this long stops showing. */
  ttlMs: number;
  /** While typing goes on, `typing: true` is re-sent at most this often. */
  resendMs: number;
}

/**
 * Typing indicators. The state is shared (TypingStore), so a stop from any device ends what
 * any instance announced; the instance that announced a start also times it out, unless a
 * renewal (from anywhere) moved it on. A start is debounced, so a client sending
 * typing:start on every keystroke costs one event per resendMs; it stops at once when the
 * typing connection goes.
 */
export function typingService(deps: { bus: Bus; membership: MembershipCache; typing: TypingStore }, opts: TypingOptions) {
  const { typing } = deps;
  const timers = new Map<string, NodeJS.Timeout>();
  const keyOf = (conversationId: string, userId: string) => `${conversationId}|${userId}`;
  const send = (conversationId: string, userId: string, on: boolean) => deps.bus.publish({ kind: 'typing', update: { conversationId, userId, typing: on } });
  const clearTimer = (key: string) => {
    clearTimeout(timers.get(key));
    timers.delete(key);
  };
  const ended = async (conversationId: string, userId: string) => {
    clearTimer(keyOf(conversationId, userId));
    await send(conversationId, userId, false);
  };

  return {
    async start(actor: Actor, conversationId: string, connectionId: string): Promise<void> {
      if (!(await deps.membership.isMember(conversationId, actor.userId))) throw notFound('Conversation not found');
      const { announce, stamp } = await typing.start(conversationId, actor.userId, connectionId, Date.now(), opts);
      const key = keyOf(conversationId, actor.userId);
      clearTimer(key);
      const timer = setTimeout(() => {
        timers.delete(key);
        void typing.expire(conversationId, actor.userId, stamp).then(
          async (gone) => {
            if (gone) await send(conversationId, actor.userId, false);
          },
          () => {},
        );
      }, opts.ttlMs);
      timer.unref();
      timers.set(key, timer);
      if (announce) await send(conversationId, actor.userId, true);
    },
    async stop(actor: Actor, conversationId: string): Promise<void> {
      if (!(await deps.membership.isMember(conversationId, actor.userId))) throw notFound('Conversation not found');
      if (await typing.stop(conversationId, actor.userId)) await ended(conversationId, actor.userId);
    },
    /** The connection went away: whatever it was typing stops showing now. */
    async dropConnection(connectionId: string): Promise<void> {
      for (const { conversationId, userId } of await typing.dropConnection(connectionId)) await ended(conversationId, userId);
    },
    close(): void {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}

export type TypingService = ReturnType<typeof typingService>;
