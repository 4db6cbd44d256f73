import type { Actor } from '../domain/types.ts';
import { notFound } from '../errors.ts';
import type { Bus } from '../realtime/bus.ts';
import type { MembershipCache } from './membership.ts';

export interface TypingOptions {
  /** A typer not heard from for this long stops showing. */
  ttlMs: number;
  /** While typing goes on, `typing: true` is re-sent at most this often. */
  resendMs: number;
}

/**
 * Typing indicators. State lives with the connection that types (so it is right in a
 * cluster too): it expires by itself, stops when the connection goes, and is debounced
 * so a client sending typing:start on every keystroke costs one event per resendMs.
 */
export function typingService(deps: { bus: Bus; membership: MembershipCache }, opts: TypingOptions) {
  const active = new Map<string, { timer: NodeJS.Timeout; connectionId: string; sentAt: number; conversationId: string; userId: string }>();
  const keyOf = (conversationId: string, userId: string) => `${conversationId}|${userId}`;
  const send = (conversationId: string, userId: string, typing: boolean) =>
    deps.bus.publish({ kind: 'typing', update: { conversationId, userId, typing } });

  function end(key: string) {
    const entry = active.get(key);
    if (!entry) return false;
    clearTimeout(entry.timer);
    active.delete(key);
    void send(entry.conversationId, entry.userId, false);
    return true;
  }

  return {
    async start(actor: Actor, conversationId: string, connectionId: string): Promise<void> {
      if (!(await deps.membership.isMember(conversationId, actor.userId))) throw notFound('Conversation not found');
      const key = keyOf(conversationId, actor.userId);
      const entry = active.get(key);
      const now = Date.now();
      if (entry) clearTimeout(entry.timer);
      const timer = setTimeout(() => end(key), opts.ttlMs);
      timer.unref();
      const resend = !entry || now - entry.sentAt >= opts.resendMs;
      active.set(key, { timer, connectionId, sentAt: resend ? now : entry!.sentAt, conversationId, userId: actor.userId });
      if (resend) await send(conversationId, actor.userId, true);
    },
    async stop(actor: Actor, conversationId: string): Promise<void> {
      if (!(await deps.membership.isMember(conversationId, actor.userId))) throw notFound('Conversation not found');
      end(keyOf(conversationId, actor.userId));
    },
    /** The connection went away: whatever it was typing stops showing now. */
    dropConnection(connectionId: string): void {
      for (const [key, entry] of active) if (entry.connectionId === connectionId) end(key);
    },
    close(): void {
      for (const entry of active.values()) clearTimeout(entry.timer);
      active.clear();
    },
  };
}

export type TypingService = ReturnType<typeof typingService>;
