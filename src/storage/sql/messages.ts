import type { ReactionSummary } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { MessageRepo } from '../store.ts';
import { MESSAGE_COLUMNS, REACTIONS_EXPR, toMessage } from './rows.ts';
import { sendMany } from './send-batch.ts';

export function messageRepo(q: Queryable): MessageRepo {
  const one = async (sql: string, params: unknown[]) => {
    const rows = await q.query(sql, params);
    return rows[0] ? toMessage(rows[0]) : null;
  };
  return {
    byClientMsgId: (conversationId, senderId, clientMsgId) =>
      one(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m
         WHERE m.conversation_id = $1 AND m.sender_id = $2 AND m.client_msg_id = $3`,
        [conversationId, senderId, clientMsgId],
      ),
    get: (id) => one(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1`, [id]),
    async send(m) {
      // One round trip: see migrations/002_send_message.sql.
      return (await sendMany(q, [m]))[0]!;
    },
    async history(conversationId, { before, after, limit, replyTo }) {
      const ascending = after !== undefined;
      const rows = await q.query(
        `SELECT ${MESSAGE_COLUMNS} FROM messages m
         WHERE m.conversation_id = $1
           AND ($2::bigint IS NULL OR m.seq < $2) AND ($3::bigint IS NULL OR m.seq > $3)
           AND ($4::uuid IS NULL OR m.reply_to = $4)
         ORDER BY m.seq ${ascending ? 'ASC' : 'DESC'} LIMIT $5`,
        [conversationId, before ?? null, after ?? null, replyTo ?? null, limit + 1],
      );
      const hasMore = rows.length > limit;
      const page = rows.slice(0, limit).map(toMessage);
      return { messages: ascending ? page : page.reverse(), hasMore };
    },
    async edit(id, body, at) {
      return (await one(`UPDATE messages m SET body = $2, edited_at = $3 WHERE m.id = $1 RETURNING ${MESSAGE_COLUMNS}`, [
        id,
        body,
        at,
      ]))!;
    },
    async softDelete(id, at) {
      // A tombstone keeps its place in the log and in threads, and nothing of its content.
      await q.query('DELETE FROM reactions WHERE message_id = $1', [id]);
      return (await one(
        `UPDATE messages m SET body = '', attachments = '[]', mentions = '{}', deleted_at = $2
         WHERE m.id = $1 RETURNING ${MESSAGE_COLUMNS}`,
        [id, at],
      ))!;
    },
    async bumpReplyCount(parentId, conversationId, delta) {
      const rows = await q.query(
        `UPDATE messages SET reply_count = GREATEST(reply_count + $3, 0)
         WHERE id = $1 AND conversation_id = $2 RETURNING id`,
        [parentId, conversationId, delta],
      );
      return rows.length === 1;
    },
    async addReaction(messageId, userId, emoji, at) {
      const rows = await q.query(
        `INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING emoji`,
        [messageId, userId, emoji, at],
      );
      return rows.length === 1;
    },
    async removeReaction(messageId, userId, emoji) {
      const rows = await q.query(
        'DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 RETURNING emoji',
        [messageId, userId, emoji],
      );
      return rows.length === 1;
    },
    async reactions(messageId) {
      const rows = await q.query<{ reactions: ReactionSummary[] }>(
        `SELECT ${REACTIONS_EXPR} AS reactions FROM messages m WHERE m.id = $1`,
        [messageId],
      );
      return rows[0]?.reactions ?? [];
    },
  };
}
