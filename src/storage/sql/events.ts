import type { ConversationEvent } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { EventRepo } from '../store.ts';
import { MESSAGE_COLUMNS, toMessage } from './rows.ts';

export function eventRepo(q: Queryable): EventRepo {
  return {
    async append(event, at) {
      await q.query(
        `INSERT INTO conversation_events (conversation_id, seq, type, data, created_at) VALUES ($1, $2, $3, $4::text::jsonb, $5)`,
        [event.conversationId, event.seq, event.type, JSON.stringify(event.data), at],
      );
    },
    /**
     * A message is its own log entry (migration 006): the log is the messages, as
     * `message:new` with their current state (a deleted one as its tombstone), merged by seq
     * with the other changes.
     */
    async since(conversationId, afterSeq, limit) {
      const [messages, others] = await Promise.all([
        q.query(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`, [conversationId, afterSeq, limit]),
        q.query<{ type: ConversationEvent['type']; seq: number; data: ConversationEvent['data'] }>(
          `SELECT type, seq, data FROM conversation_events WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
          [conversationId, afterSeq, limit],
        ),
      ]);
      const log: ConversationEvent[] = [
        ...messages.map((r): ConversationEvent => {
          const message = toMessage(r);
          return { type: 'message:new', conversationId, seq: message.seq, data: { conversationId, seq: message.seq, message } };
        }),
        ...others.map((r) => ({ type: r.type, conversationId, seq: Number(r.seq), data: r.data }) as ConversationEvent),
      ];
      return log.sort((a, b) => a.seq - b.seq).slice(0, limit);
    },
  };
}
