import type { Actor, SyncResult } from '../domain/types.ts';
import type { ServiceDeps } from './deps.ts';

export type { SyncResult };

/**
 * Log entries read per query: the first read takes FIRST_READ, later ones about what the
 * page still has room for, so a page of large changes is never read whole into memory.
 */
const FIRST_READ = 10;
const MAX_READ = 500;

/**
 * Recovery (invariant 4): whatever a client missed, in order, however long it was away,
 * paged; past `syncLimit` changes in one conversation the answer says `reset` instead of
 * leaving a silent gap. Conversations missing from the cursors are included from seq 1.
 * A page holds at most `limit` changes and stops before `pageBytes` of them (JSON, UTF-8),
 * so no reply outgrows what a connection may have queued; a page always holds at least one
 * change, and `hasMore` says when it was cut.
 */
export function syncService(deps: ServiceDeps, opts: { syncLimit: number; pageDefault: number; pageBytes: number }) {
  const { store } = deps;
  return {
    /** `only`: one conversation's changes and nothing else (GraphQL's recovering subscriptions). */
    async sync(actor: Actor, cursors: Record<string, number>, limit = opts.pageDefault, only?: string): Promise<SyncResult> {
      const all = await store.members.positionsOf(actor.userId);
      const positions = only === undefined ? all : all.filter((p) => p.conversationId === only);
      const member = new Set(all.map((p) => p.conversationId));
      const result: SyncResult = { changes: [], hasMore: false, reset: [], removed: Object.keys(cursors).filter((id) => !member.has(id)) };
      positions.sort((a, b) => a.conversationId.localeCompare(b.conversationId));
      let bytes = 0;
      let full = false;
      for (const { conversationId, lastSeq } of positions) {
        const cursor = cursors[conversationId] ?? 0;
        if (cursor === lastSeq) continue;
        // A cursor ahead of the log is a client with state this server never gave: reset it too.
        if (cursor > lastSeq || lastSeq - cursor > opts.syncLimit) {
          result.reset.push(conversationId);
          continue;
        }
        let after = cursor;
        while (!full && after < lastSeq && result.changes.length < limit) {
          // Read about what still fits, judged by the changes so far (small ones: many at once).
          const average = result.changes.length ? bytes / result.changes.length : opts.pageBytes / FIRST_READ;
          const fits = Math.ceil((opts.pageBytes - bytes) / average);
          const events = await store.events.since(conversationId, after, Math.max(1, Math.min(MAX_READ, fits, limit - result.changes.length)));
          for (const event of events) {
            const size = Buffer.byteLength(JSON.stringify(event));
            if (result.changes.length > 0 && bytes + size > opts.pageBytes) {
              full = true;
              break;
            }
            bytes += size;
            result.changes.push(event);
            after = event.seq;
          }
          if (events.length === 0) break;
        }
        if (after < lastSeq) result.hasMore = true;
      }
      return result;
    },
  };
}
