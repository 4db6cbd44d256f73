import type { Queryable } from '../db.ts';
import type { DigestConversationRow, NotifyWorkRepo, OutboxItem, UnseenMessages } from '../store.ts';
import { iso } from './rows.ts';

type Row = Record<string, unknown>;

const toOutbox = (r: Row): OutboxItem => ({
  kind: r.kind as OutboxItem['kind'],
  conversationId: String(r.conversation_id),
  seq: Number(r.seq),
  actorId: String(r.actor_id),
  messageId: r.message_id ? String(r.message_id) : null,
  recipients: (r.recipients as string[]) ?? [],
  mentions: (r.mentions as string[]) ?? [],
  data: (r.data as Record<string, unknown>) ?? {},
  createdAt: iso(r.created_at),
});

/** Messages from others after `after`, not deleted: what a push or a digest would be about. */
const UNSEEN = `m.seq > GREATEST(cm.read_seq, $AFTER) AND m.sender_id <> cm.user_id AND m.deleted_at IS NULL`;

/**
 * The dispatcher's compare-and-set of its position, from what it read to what it handled:
 * whether it moved (false: another drain moved it first). One text under one name, so both
 * callers share the prepared statement.
 * Named (QueryOptions.name) with the peek: under load they run every drain, about ten times a
 * second, and parsing and planning them anew was a quarter to a half of a drain's backend CPU.
 */
const advance = async (q: Queryable, from: number, to: number): Promise<boolean> =>
  (await q.query('UPDATE notify_position SET pos = $2 WHERE id = 1 AND pos = $1 RETURNING 1', [from, to], { name: 'parley_notify_advance' })).length === 1;

/** The storage side of notification delivery: the outbox, push and digest positions. */
export function notifyWorkRepo(q: Queryable): NotifyWorkRepo {
  return {
    async addOutbox(item) {
      await q.query(
        `INSERT INTO notification_outbox (kind, conversation_id, seq, actor_id, message_id, recipients, mentions, data, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9)`,
        [item.kind, item.conversationId, item.seq, item.actorId, item.messageId, item.recipients, item.mentions, JSON.stringify(item.data), item.createdAt],
      );
    },

    async readWork(messageLimit, outboxLimit) {
      // One statement, one snapshot, one row (PGlite pays for every row it returns): the
      // position, the messages after it (log positions become visible in order, so the range
      // is complete) with the text of those that mention someone, and the oldest outbox rows.
      const [row] = await q.query<{ pos: number; messages: Row[] | null; outbox: Row[] | null }>(
        `SELECT p.pos,
           (SELECT json_agg(json_build_object('conversation_id', m.conversation_id, 'seq', m.seq, 'sender_id', m.sender_id, 'id', m.id,
              'mentions', m.mentions, 'created_at', m.created_at, 'log_pos', m.log_pos,
              'body', CASE WHEN cardinality(m.mentions) > 0 THEN m.body END) ORDER BY m.log_pos)
            FROM (SELECT * FROM messages m WHERE m.log_pos > p.pos ORDER BY m.log_pos LIMIT $1) m) AS messages,
           (SELECT json_agg(o ORDER BY o.id) FROM (SELECT * FROM notification_outbox ORDER BY id LIMIT $2) o) AS outbox
         FROM notify_position p WHERE p.id = 1`,
        [messageLimit, outboxLimit],
      );
      if (!row) return null;
      const messages = row.messages ?? [];
      const outbox = row.outbox ?? [];
      return {
        pos: Number(row.pos),
        lastPos: messages.length ? Number(messages.at(-1)!.log_pos) : Number(row.pos),
        more: messages.length === messageLimit || outbox.length === outboxLimit,
        messages: messages.map((r) => ({
          conversationId: String(r.conversation_id),
          seq: Number(r.seq),
          senderId: String(r.sender_id),
          messageId: String(r.id),
          mentions: (r.mentions as string[]) ?? [],
          createdAt: iso(r.created_at),
          body: (r.body as string | null) ?? null,
        })),
        outbox: outbox.map((r) => ({ ...toOutbox(r), id: String(r.id) })),
      };
    },

    async claimWork(position, outboxIds) {
      // The position first, then outbox rows in id order: two drains lock in the same order,
      // so the later one waits for the first to commit (and then finds the work gone)
      // instead of deadlocking.
      if (position) {
        if (!(await advance(q, position.from, position.to))) return false;
      }
      if (outboxIds.length === 0) return true;
      const gone = await q.query(
        `DELETE FROM notification_outbox WHERE id IN (
           SELECT id FROM notification_outbox WHERE id = ANY ($1::bigint[]) ORDER BY id FOR UPDATE)
         RETURNING 1`,
        [outboxIds],
      );
      return gone.length === outboxIds.length;
    },

    async peekMessages(limit) {
      // One statement, one snapshot, one row: the position, whether outbox work waits, and
      // the messages after it in brief (log positions become visible in order, so this range
      // is complete). Aggregated, because PGlite pays for every row it returns. The pairs
      // come as JSON, which the drivers parse natively: as a text[] they went through
      // node-postgres's array parser, written in JavaScript (a hundred pairs a drain under load).
      const [row] = await q.query<{ pos: number; outbox: boolean; n: number; last: number | null; mentions: boolean | null; pairs: string[] | null }>(
        `SELECT p.pos, EXISTS (SELECT 1 FROM notification_outbox) AS outbox, count(m.log_pos)::int AS n, max(m.log_pos) AS last,
           bool_or(cardinality(m.mentions) > 0) AS mentions,
           json_agg(DISTINCT m.conversation_id::text || ' ' || m.sender_id) FILTER (WHERE m.log_pos IS NOT NULL) AS pairs
         FROM notify_position p
         LEFT JOIN LATERAL (SELECT m.conversation_id, m.sender_id, m.mentions, m.log_pos FROM messages m
           WHERE m.log_pos > p.pos ORDER BY m.log_pos LIMIT $1) m ON true
         WHERE p.id = 1
         GROUP BY p.pos`,
        [limit],
        { name: 'parley_notify_peek' },
      );
      if (!row) return null;
      return {
        pos: Number(row.pos),
        lastPos: Number(row.last ?? row.pos),
        outbox: Boolean(row.outbox),
        count: Number(row.n),
        more: Number(row.n) === limit,
        mentions: Boolean(row.mentions),
        // A conversation id holds no space; a user id may, so split at the first one.
        senders: (row.pairs ?? []).map((pair) => {
          const at = pair.indexOf(' ');
          return { conversationId: pair.slice(0, at), senderId: pair.slice(at + 1) };
        }),
      };
    },

    async advanceMessages(from, to) {
      return advance(q, from, to);
    },

    async memberStates(pairs) {
      if (pairs.length === 0) return new Map();
      const rows = await q.query(
        `SELECT cm.conversation_id, cm.user_id, cm.muted_until, cm.read_seq, cm.archived_seq IS NOT NULL AS archived
         FROM conversation_members cm JOIN unnest($1::uuid[], $2::text[]) AS p(c, u) ON cm.conversation_id = p.c AND cm.user_id = p.u`,
        [pairs.map((p) => p.conversationId), pairs.map((p) => p.userId)],
      );
      return new Map(
        rows.map((r) => [
          `${r.conversation_id}\n${r.user_id}`,
          { mutedUntil: r.muted_until ? iso(r.muted_until) : null, archived: Boolean(r.archived), readSeq: Number(r.read_seq) },
        ]),
      );
    },

    async conversationTitles(ids) {
      if (ids.length === 0) return new Map();
      const rows = await q.query('SELECT id, title FROM conversations WHERE id = ANY ($1::uuid[]) AND title IS NOT NULL', [ids]);
      return new Map(rows.map((r) => [String(r.id), String(r.title)]));
    },
    async userNames(ids) {
      if (ids.length === 0) return new Map();
      const rows = await q.query('SELECT id, name FROM users WHERE id = ANY ($1)', [ids]);
      return new Map(rows.map((r) => [String(r.id), (r.name as string | null) ?? null]));
    },

    async unseenMany(pairs, limit) {
      if (pairs.length === 0) return [];
      // One statement for a batch of push decisions: each pair's member row, and its newest
      // `limit` unseen messages with their totals (none: one row of nulls). Each member row
      // is looked up by both keys on its own (OFFSET 0 keeps the planner from folding it into
      // the join): planned with stale statistics after a large group was made, the join
      // read every member of the conversation for each pair, 1,000 rows a pair at 5,000.
      const rows = await q.query(
        `SELECT x.i, cm.muted_until, cm.archived_seq IS NOT NULL AS archived, c.kind, c.title,
           m.seq, m.sender_id, m.sender_name, m.body, m.mentioned, m.total, m.mentions
         FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS x(conversation_id, user_id, i)
         CROSS JOIN LATERAL (SELECT * FROM conversation_members WHERE conversation_id = x.conversation_id AND user_id = x.user_id OFFSET 0) cm
         JOIN conversations c ON c.id = cm.conversation_id
         LEFT JOIN LATERAL (
           SELECT m.seq, m.sender_id, u.name AS sender_name, m.body, cm.user_id = ANY (m.mentions) AS mentioned,
             count(*) OVER () AS total, count(*) FILTER (WHERE cm.user_id = ANY (m.mentions)) OVER () AS mentions
           FROM messages m LEFT JOIN users u ON u.id = m.sender_id
           WHERE m.conversation_id = cm.conversation_id AND ${UNSEEN.replace('$AFTER', 'cm.pushed_seq')}
           ORDER BY m.seq DESC LIMIT $3
         ) m ON true
         ORDER BY x.i, m.seq`,
        [pairs.map((p) => p.conversationId), pairs.map((p) => p.userId), limit],
        { name: 'parley_push_unseen' },
      );
      const out: (UnseenMessages | null)[] = pairs.map(() => null);
      for (const r of rows) {
        const i = Number(r.i) - 1;
        const u = out[i] ?? {
          kind: r.kind as 'direct' | 'group',
          title: (r.title as string | null) ?? null,
          mutedUntil: r.muted_until ? iso(r.muted_until) : null,
          archived: Boolean(r.archived),
          total: Number(r.total ?? 0),
          mentions: Number(r.mentions ?? 0),
          messages: [],
        };
        out[i] = u;
        if (r.seq === null) continue;
        u.messages.push({
          seq: Number(r.seq),
          senderId: String(r.sender_id),
          senderName: (r.sender_name as string | null) ?? null,
          body: String(r.body),
          mentioned: Boolean(r.mentioned),
        });
      }
      return out;
    },

    async markPushed(positions) {
      if (positions.length === 0) return [];
      // One row may wait for its lock. Several are locked with NOWAIT: a claim holding one
      // member's row while it waits for another's could deadlock with a send batch moving its
      // senders' markers, or with another claim. A batch that finds a row locked fails at once,
      // and its decisions are made again a job at a time (JobQueue.workBatches), each claiming
      // its one row. Each row is looked up by both keys on its own, as in unseenMany.
      const several = positions.length > 1;
      const rows = await q.query<{ i: string }>(
        `WITH claim AS (
           SELECT cm.conversation_id, cm.user_id, x.seq, x.i
           FROM unnest($1::uuid[], $2::text[], $3::bigint[]) WITH ORDINALITY AS x(conversation_id, user_id, seq, i)
           CROSS JOIN LATERAL (
             SELECT conversation_id, user_id FROM conversation_members
             WHERE conversation_id = x.conversation_id AND user_id = x.user_id AND pushed_seq < x.seq
             OFFSET 0 FOR UPDATE${several ? ' NOWAIT' : ''}
           ) cm
         )
         UPDATE conversation_members cm SET pushed_seq = claim.seq FROM claim
         WHERE cm.conversation_id = claim.conversation_id AND cm.user_id = claim.user_id AND cm.pushed_seq < claim.seq
         RETURNING claim.i`,
        [positions.map((p) => p.conversationId), positions.map((p) => p.userId), positions.map((p) => p.seq)],
        { name: several ? 'parley_push_mark_several' : 'parley_push_mark' },
      );
      const claimed = new Set(rows.map((r) => Number(r.i) - 1));
      return positions.map((_, i) => claimed.has(i));
    },

    async digestCandidates(afterUserId, limit) {
      const rows = await q.query(
        `SELECT DISTINCT u.id, u.email FROM users u
         JOIN conversation_members cm ON cm.user_id = u.id
         JOIN conversations c ON c.id = cm.conversation_id
         WHERE u.email IS NOT NULL AND u.id > $1 AND c.last_message_seq > GREATEST(cm.read_seq, cm.emailed_seq)
         ORDER BY u.id LIMIT $2`,
        [afterUserId, limit],
      );
      return rows.map((r) => ({ userId: String(r.id), email: String(r.email) }));
    },

    async digestFor(userId, perConversation) {
      const rows = await q.query(
        `SELECT x.* FROM (
           SELECT m.conversation_id, c.kind, c.title, cm.muted_until, cm.archived_seq IS NOT NULL AS archived,
             m.seq, m.body, m.created_at, u.name AS sender_name, m.sender_id, $1 = ANY (m.mentions) AS mentioned,
             row_number() OVER w AS rn, count(*) OVER p AS total, max(m.seq) OVER p AS last_seq,
             count(*) FILTER (WHERE $1 = ANY (m.mentions)) OVER p AS mentions
           FROM conversation_members cm
           JOIN conversations c ON c.id = cm.conversation_id
           JOIN messages m ON m.conversation_id = cm.conversation_id
           LEFT JOIN users u ON u.id = m.sender_id
           WHERE cm.user_id = $1 AND c.last_message_seq > GREATEST(cm.read_seq, cm.emailed_seq)
             AND ${UNSEEN.replace('$AFTER', 'cm.emailed_seq')}
           WINDOW p AS (PARTITION BY m.conversation_id), w AS (PARTITION BY m.conversation_id ORDER BY m.seq DESC)
         ) x WHERE x.rn <= $2 ORDER BY x.conversation_id, x.seq`,
        [userId, perConversation],
      );
      const byConversation = new Map<string, DigestConversationRow>();
      for (const r of rows) {
        const id = String(r.conversation_id);
        let c = byConversation.get(id);
        if (!c) {
          c = {
            conversationId: id,
            kind: r.kind as 'direct' | 'group',
            title: (r.title as string | null) ?? null,
            mutedUntil: r.muted_until ? iso(r.muted_until) : null,
            archived: Boolean(r.archived),
            total: Number(r.total),
            mentions: Number(r.mentions),
            lastSeq: Number(r.last_seq),
            messages: [],
          };
          byConversation.set(id, c);
        }
        c.messages.push({
          seq: Number(r.seq),
          senderId: String(r.sender_id),
          senderName: (r.sender_name as string | null) ?? null,
          body: String(r.body),
          mentioned: Boolean(r.mentioned),
          createdAt: iso(r.created_at),
        });
      }
      return [...byConversation.values()];
    },

    async markEmailed(userId, positions) {
      if (positions.length === 0) return 0;
      const rows = await q.query(
        `UPDATE conversation_members cm SET emailed_seq = p.seq
         FROM unnest($2::uuid[], $3::bigint[]) AS p(c, seq)
         WHERE cm.user_id = $1 AND cm.conversation_id = p.c AND cm.emailed_seq < p.seq RETURNING 1`,
        [userId, positions.map((p) => p.conversationId), positions.map((p) => p.seq)],
      );
      return rows.length;
    },

  };
}
