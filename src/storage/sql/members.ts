import type { Queryable } from '../db.ts';
import type { MemberRepo } from '../store.ts';
import { isoOrNull, MEMBER_COLUMNS, toMember, unreadCount } from './rows.ts';

/** A membership muted at $2 (its unread count leaves the total). */
const MUTED = '(cm.muted_until IS NOT NULL AND cm.muted_until > $2)';

/**
 * Which of $2 share a conversation with $1 (a presence query's check). Each user on its own,
 * stopping at its first shared conversation: its memberships by the user index, each probed
 * for $1's by the primary key (LIMIT keeps it a probe per user; as EXISTS it was planned as a
 * hash of every member of $1's conversations). As one join it read every membership of every
 * user asked, or every member of $1's groups: for a member of ten groups of 10,000, 4.5-10 ms
 * on PGlite with statistics and 20 without (npm run bench:members), on the one connection
 * every send waits for.
 */
export const CONTACTS_AMONG = `SELECT u.user_id FROM unnest($2::text[]) AS u(user_id)
  CROSS JOIN LATERAL (SELECT 1 FROM conversation_members other
    WHERE other.user_id = u.user_id
      AND EXISTS (SELECT 1 FROM conversation_members mine WHERE mine.conversation_id = other.conversation_id AND mine.user_id = $1)
    LIMIT 1) shared
  WHERE u.user_id <> $1`;

/**
 * Under a LIMIT, the planner reads a small table's memberships by a sequential scan, once per
 * user asked: 5 ms on PostgreSQL and 10 on PGlite for a table of 1,000 rows, where the index
 * takes under 1.5 (test/presence-contacts-plan.test.ts).
 */
export const CONTACTS_SETTINGS = { enable_seqscan: 'off' };

export function memberRepo(q: Queryable): MemberRepo {
  return {
    async insert(conversationId, members, at, readSeq) {
      if (members.length === 0) return;
      await q.query(
        `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, read_seq, delivered_seq)
         SELECT $1, u, r, $4, $5, $5 FROM unnest($2::text[], $3::text[]) AS t(u, r)`,
        [conversationId, members.map((m) => m.userId), members.map((m) => m.role), at, readSeq],
      );
    },
    async get(conversationId, userId) {
      const rows = await q.query(
        `SELECT ${MEMBER_COLUMNS} FROM conversation_members cm JOIN users u ON u.id = cm.user_id
         WHERE cm.conversation_id = $1 AND cm.user_id = $2`,
        [conversationId, userId],
      );
      return rows[0] ? toMember(rows[0]) : null;
    },
    async othersMarkers(conversationId, userId) {
      const [row] = await q.query<{ n: number; read_seq: string; delivered_seq: string }>(
        `SELECT count(*)::int AS n, COALESCE(min(read_seq), 0) AS read_seq, COALESCE(min(delivered_seq), 0) AS delivered_seq
         FROM conversation_members WHERE conversation_id = $1 AND user_id <> $2`,
        [conversationId, userId],
      );
      return { count: row!.n, readSeq: Number(row!.read_seq), deliveredSeq: Number(row!.delivered_seq) };
    },
    async markersPage(conversationId, { excluding, after, limit }) {
      const rows = await q.query<{ user_id: string; read_seq: number; delivered_seq: number }>(
        `SELECT user_id, read_seq, delivered_seq FROM conversation_members
         WHERE conversation_id = $1 AND user_id > $2 AND user_id <> $3 ORDER BY user_id LIMIT $4`,
        [conversationId, after, excluding, limit],
      );
      return rows.map((r) => ({ userId: r.user_id, readSeq: Number(r.read_seq), deliveredSeq: Number(r.delivered_seq) }));
    },
    async heir(conversationId) {
      // Ties in joined_at go by user id, as the member list orders them.
      const [row] = await q.query<{ user_id: string }>(
        `SELECT user_id FROM conversation_members
         WHERE conversation_id = $1 AND NOT EXISTS (SELECT 1 FROM conversation_members o WHERE o.conversation_id = $1 AND o.role = 'owner')
         ORDER BY role = 'admin' DESC, joined_at, user_id LIMIT 1`,
        [conversationId],
      );
      return row?.user_id ?? null;
    },
    async list(conversationId) {
      const rows = await q.query(
        `SELECT ${MEMBER_COLUMNS} FROM conversation_members cm JOIN users u ON u.id = cm.user_id
         WHERE cm.conversation_id = $1 ORDER BY cm.joined_at, cm.user_id`,
        [conversationId],
      );
      return rows.map(toMember);
    },
    async page(conversationId, viewer, { after, limit }) {
      // The viewer's row anchors the answer: no row, not a member. A page that is past the last
      // member still answers one row (the LEFT JOIN's nulls), which carries the count.
      const rows = await q.query(
        `SELECT c.member_count, p.* FROM conversation_members me
         JOIN conversations c ON c.id = me.conversation_id
         LEFT JOIN LATERAL (SELECT ${MEMBER_COLUMNS}, (extract(epoch FROM cm.joined_at) * 1000000)::bigint::text AS joined_at_us
           FROM conversation_members cm JOIN users u ON u.id = cm.user_id
           WHERE cm.conversation_id = me.conversation_id
             ${after ? "AND (cm.joined_at, cm.user_id) > (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::text)" : ''}
           ORDER BY cm.joined_at, cm.user_id LIMIT $3) p ON true
         WHERE me.conversation_id = $1 AND me.user_id = $2
         ORDER BY p.joined_at, p.user_id`,
        after ? [conversationId, viewer, limit, after.joinedAtUs, after.userId] : [conversationId, viewer, limit],
      );
      if (rows.length === 0) return null;
      return {
        members: rows.filter((r) => r.user_id !== null).map((r) => ({ member: toMember(r), joinedAtUs: String(r.joined_at_us) })),
        memberCount: Number(rows[0]!.member_count),
      };
    },
    async remove(conversationId, userId) {
      const rows = await q.query(
        'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2 RETURNING user_id',
        [conversationId, userId],
      );
      return rows.length === 1;
    },
    async setRole(conversationId, userId, role) {
      const rows = await q.query(
        `UPDATE conversation_members cm SET role = $3 FROM users u
         WHERE cm.conversation_id = $1 AND cm.user_id = $2 AND u.id = cm.user_id RETURNING ${MEMBER_COLUMNS}`,
        [conversationId, userId, role],
      );
      return rows[0] ? toMember(rows[0]) : null;
    },
    async setSettings(conversationId, userId, s) {
      const rows = await q.query<{ archived: boolean; muted_until: unknown }>(
        `UPDATE conversation_members cm SET
           archived_seq = CASE WHEN $3::boolean IS NULL THEN cm.archived_seq
                               WHEN $3 THEN c.last_message_seq ELSE NULL END,
           muted_until = CASE WHEN $4 THEN $5::timestamptz ELSE cm.muted_until END
         FROM conversations c
         WHERE cm.conversation_id = $1 AND cm.user_id = $2 AND c.id = cm.conversation_id
         RETURNING (cm.archived_seq IS NOT NULL AND c.last_message_seq <= cm.archived_seq) AS archived, cm.muted_until`,
        [conversationId, userId, s.archived ?? null, s.mutedUntil !== undefined, s.mutedUntil ?? null],
      );
      const r = rows[0];
      return r ? { archived: Boolean(r.archived), mutedUntil: isoOrNull(r.muted_until) } : null;
    },
    async advanceMarkers(conversationId, userId, seq, which) {
      // Reading implies delivery; delivery alone leaves the read marker where it is.
      const rows = await q.query<{ read_seq: number; delivered_seq: number }>(
        `UPDATE conversation_members cm SET
           read_seq = CASE WHEN $4 THEN GREATEST(cm.read_seq, LEAST($3, c.last_seq)) ELSE cm.read_seq END,
           delivered_seq = GREATEST(cm.delivered_seq, LEAST($3, c.last_seq))
         FROM conversations c
         WHERE cm.conversation_id = $1 AND cm.user_id = $2 AND c.id = cm.conversation_id
         RETURNING cm.read_seq, cm.delivered_seq`,
        [conversationId, userId, seq, which === 'read'],
      );
      const r = rows[0];
      return r ? { readSeq: Number(r.read_seq), deliveredSeq: Number(r.delivered_seq) } : null;
    },
    async unreadSummary(userId, now) {
      // One statement, so each count and its conversation's last seq come from one snapshot
      // (a send commits the message and the new last seq together).
      const rows = await q.query<{ conversation_id: string; last_seq: string; n: number; muted: boolean }>(
        `SELECT cm.conversation_id, c.last_seq, (${unreadCount('cm', 'c')})::int AS n, ${MUTED} AS muted
         FROM conversation_members cm
         JOIN conversations c ON c.id = cm.conversation_id
         WHERE cm.user_id = $1`,
        [userId, now],
        { name: 'parley_unread_summary' },
      );
      const conversations: Record<string, number> = {};
      const lastSeqs: Record<string, number> = {};
      let total = 0;
      for (const r of rows) {
        lastSeqs[r.conversation_id] = Number(r.last_seq);
        if (r.n === 0) continue;
        conversations[r.conversation_id] = r.n;
        if (!r.muted) total += r.n;
      }
      return { total, conversations, lastSeqs };
    },
    async unreadTotals(userIds, now) {
      if (userIds.length === 0) return new Map();
      // unreadSummary's total for many users at once (the badges of a batch of pushes).
      const rows = await q.query<{ user_id: string; total: number }>(
        `SELECT cm.user_id, COALESCE(sum(${unreadCount('cm', 'c')}) FILTER (WHERE NOT ${MUTED}), 0)::int AS total
         FROM conversation_members cm
         JOIN conversations c ON c.id = cm.conversation_id
         WHERE cm.user_id = ANY ($1::text[])
         GROUP BY cm.user_id`,
        [userIds, now],
        { name: 'parley_unread_totals' },
      );
      return new Map(rows.map((r) => [r.user_id, Number(r.total)]));
    },
    async filterMembers(conversationId, userIds) {
      if (userIds.length === 0) return [];
      const rows = await q.query<{ user_id: string }>(
        'SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id = ANY($2::text[])',
        [conversationId, userIds],
      );
      return rows.map((r) => r.user_id);
    },
    async positionsOf(userId) {
      const rows = await q.query<{ conversation_id: string; last_seq: number }>(
        `SELECT c.id AS conversation_id, c.last_seq FROM conversation_members cm
         JOIN conversations c ON c.id = cm.conversation_id WHERE cm.user_id = $1`,
        [userId],
      );
      return rows.map((r) => ({ conversationId: r.conversation_id, lastSeq: Number(r.last_seq) }));
    },
    async contactsOf(userId, among) {
      const [rows] = await q.pipeline([{ name: 'parley_contacts_among', text: CONTACTS_AMONG, params: [userId, among] }], CONTACTS_SETTINGS);
      return (rows as [string][]).map((r) => r[0]);
    },
    async conversationsWith(userIds) {
      if (userIds.length === 0) return 0;
      const [row] = await q.query<{ n: number }>(`SELECT count(DISTINCT conversation_id)::int AS n FROM conversation_members WHERE user_id = ANY($1::text[])`, [userIds]);
      return Number(row?.n ?? 0);
    },
  };
}
