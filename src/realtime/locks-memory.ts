import type { LockHolder, LockStore } from './locks.ts';

export function createMemoryLocks(): LockStore {
  const locks = new Map<string, LockHolder>();
  const current = (messageId: string, now: number) => {
    const h = locks.get(messageId);
    if (h && h.expiresAt <= now) {
      locks.delete(messageId);
      return null;
    }
    return h ?? null;
  };
  const releaseWhere = (match: (h: LockHolder) => boolean) => {
    const released: { messageId: string; holder: LockHolder }[] = [];
    for (const [messageId, holder] of locks) {
      if (match(holder)) {
        locks.delete(messageId);
        released.push({ messageId, holder });
      }
    }
    return released;
  };
  return {
    async acquire(messageId, holder, now) {
      const h = current(messageId, now);
      if (h && h.userId !== holder.userId) return { ok: false, holder: h };
      locks.set(messageId, holder);
      return { ok: true };
    },
    async release(messageId, userId, now) {
      const h = current(messageId, now);
      if (!h || h.userId !== userId) return false;
      locks.delete(messageId);
      return true;
    },
    async holder(messageId, now) {
      return current(messageId, now);
    },
    releaseConnection: async (connectionId) => releaseWhere((h) => h.connectionId === connectionId),
    releaseHolder: async (conversationId, userId) => releaseWhere((h) => h.conversationId === conversationId && h.userId === userId),
  };
}
