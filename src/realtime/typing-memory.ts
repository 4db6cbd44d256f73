import { randomUUID } from 'node:crypto';
import type { TypingStore } from './typing.ts';

export function createMemoryTyping(): TypingStore {
  const marks = new Map<string, { conversationId: string; userId: string; connectionId: string; sentAt: number; stamp: string }>();
  const keyOf = (conversationId: string, userId: string) => `${conversationId}|${userId}`;
  return {
    async start(conversationId, userId, connectionId, now, opts) {
      const key = keyOf(conversationId, userId);
      const cur = marks.get(key);
      const announce = !cur || now - cur.sentAt >= opts.resendMs;
      const stamp = randomUUID();
      marks.set(key, { conversationId, userId, connectionId, sentAt: announce ? now : cur!.sentAt, stamp });
      return { announce, stamp };
    },
    async stop(conversationId, userId) {
      return marks.delete(keyOf(conversationId, userId));
    },
    async expire(conversationId, userId, stamp) {
      const key = keyOf(conversationId, userId);
      if (marks.get(key)?.stamp !== stamp) return false;
      return marks.delete(key);
    },
    async dropConnection(connectionId) {
      const dropped: { conversationId: string; userId: string }[] = [];
      for (const [key, m] of marks) {
        if (m.connectionId !== connectionId) continue;
        marks.delete(key);
        dropped.push({ conversationId: m.conversationId, userId: m.userId });
      }
      return dropped;
    },
  };
}
