import type { ConversationEvent } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { EventRepo } from '../store.ts';

export function eventRepo(q: Queryable): EventRepo {
  return {
    async append(event, at) {
      await q.query(
        `INSERT INTO conversation_events (conversation_id, seq, type, data, created_at) VALUES ($1, $2, $3, $4::text::jsonb, $5)`,
        [event.conversationId, event.seq, event.type, JSON.stringify(event.data), at],
      );
    },
    async since(conversationId, afterSeq, limit) {
      const rows = await q.query<{ type: ConversationEvent['type']; seq: number; data: ConversationEvent['data'] }>(
        `SELECT type, seq, data FROM conversation_events WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [conversationId, afterSeq, limit],
      );
      return rows.map((r) => ({ type: r.type, conversationId, seq: Number(r.seq), data: r.data }) as ConversationEvent);
    },
  };
}
