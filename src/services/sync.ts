import type { Actor, ConversationEvent } from '../domain/types.ts';
import type { ServiceDeps } from './deps.ts';

export interface SyncResult {
  /** Log entries after each cursor, in seq order per conversation: exactly the live events. */
  changes: Pick<ConversationEvent, 'type' | 'conversationId' | 'seq' | 'data'>[];
  /** True when `limit` cut the page: call again with the cursors advanced. */
  hasMore: boolean;
  /** Too far behind (more than the sync limit): reload recent history instead. */
  reset: string[];
  /** Conversations in the cursors the caller is no longer a member of: drop them. */
  removed: string[];
}

/**
 * Recovery (invariant 4): whatever a client missed, in order, however long it was away,
 * paged; past `syncLimit` changes in one conversation the answer says `reset` instead of
 * leaving a silent gap. Conversations missing from the cursors are included from seq 1.
 */
export function syncService(deps: ServiceDeps, opts: { syncLimit: number; pageDefault: number }) {
  const { store } = deps;
  return {
    async sync(actor: Actor, cursors: Record<string, number>, limit = opts.pageDefault): Promise<SyncResult> {
      const positions = await store.members.positionsOf(actor.userId);
      const member = new Set(positions.map((p) => p.conversationId));
      const result: SyncResult = { changes: [], hasMore: false, reset: [], removed: Object.keys(cursors).filter((id) => !member.has(id)) };
      positions.sort((a, b) => a.conversationId.localeCompare(b.conversationId));
      for (const { conversationId, lastSeq } of positions) {
        const cursor = cursors[conversationId] ?? 0;
        if (cursor === lastSeq) continue;
        // A cursor ahead of the log is a client with state this server never gave: reset it too.
        if (cursor > lastSeq || lastSeq - cursor > opts.syncLimit) {
          result.reset.push(conversationId);
          continue;
        }
        const room = limit - result.changes.length;
        if (room <= 0) {
          result.hasMore = true;
          continue;
        }
        const events = await store.events.since(conversationId, cursor, room);
        if (cursor + events.length < lastSeq) result.hasMore = true;
        result.changes.push(...events);
      }
      return result;
    },
  };
}

export type SyncService = ReturnType<typeof syncService>;
