import type { Conversation, ConversationInfo, ConversationKind, Member, Message, Role } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { ConversationRepo, MemberLock } from '../store.ts';
import { iso, isoOrNull, MEMBER_COLUMNS, MESSAGE_COLUMNS, toMember, toMessage, unreadCount } from './rows.ts';

type Row = Record<string, unknown>;

/** Members shown inline per conversation; memberCount tells the full size. */
const INLINE_MEMBERS = 100;

const VIEW = `SELECT c.id, c.kind, c.title, c.metadata, c.last_seq, c.last_message_seq, c.created_at, c.updated_at,
    c.last_activity_at, me.role, me.archived_seq, me.muted_until,
    (me.archived_seq IS NOT NULL AND c.last_message_seq <= me.archived_seq) AS archived,
    (${unreadCount('me', 'c')})::int AS unread_count,
    c.member_count
  FROM conversation_members me JOIN conversations c ON c.id = me.conversation_id`;

const toInfo = (r: Row): ConversationInfo => ({
  id: String(r.id),
  kind: r.kind as ConversationKind,
  title: (r.title as string | null) ?? null,
  metadata: (r.metadata as Record<string, unknown>) ?? {},
  lastSeq: Number(r.last_seq),
  updatedAt: iso(r.updated_at),
});

const toLock = (r: Row): MemberLock => ({
  kind: r.kind as ConversationKind,
  role: r.role as Role,
  lastSeq: Number(r.last_seq),
  lastMessageSeq: Number(r.last_message_seq),
});

export function conversationRepo(q: Queryable): ConversationRepo {
  /** Adds members (capped) and last messages to view rows: two queries for a whole page. */
  async function hydrate(rows: Row[]): Promise<Conversation[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => String(r.id));
    const [memberRows, lastRows] = await Promise.all([
      // Each conversation's first members in join order, from the index in that order
      // (migration 011): a bounded read however large the group.
      q.query(
        `SELECT ${MEMBER_COLUMNS} FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, ord)
         CROSS JOIN LATERAL (SELECT * FROM conversation_members x WHERE x.conversation_id = i.id
           ORDER BY x.joined_at, x.user_id LIMIT ${INLINE_MEMBERS}) cm
         JOIN users u ON u.id = cm.user_id
         ORDER BY i.ord, cm.joined_at, cm.user_id`,
        [ids],
      ),
      q.query(
        `SELECT ${MESSAGE_COLUMNS} FROM conversations c
         JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_message_seq
         WHERE c.id = ANY($1::uuid[])`,
        [ids],
      ),
    ]);
    const members = new Map<string, Member[]>();
    for (const r of memberRows) {
      const list = members.get(String(r.conversation_id)) ?? [];
      list.push(toMember(r));
      members.set(String(r.conversation_id), list);
    }
    const last = new Map<string, Message>(lastRows.map((r) => [String(r.conversation_id), toMessage(r)]));
    return rows.map((r) => ({
      ...toInfo(r),
      members: members.get(String(r.id)) ?? [],
      memberCount: Number(r.member_count),
      lastMessage: last.get(String(r.id)) ?? null,
      createdAt: iso(r.created_at),
      lastActivityAt: iso(r.last_activity_at),
      unreadCount: Number(r.unread_count),
      role: r.role as Role,
      archived: Boolean(r.archived),
      mutedUntil: isoOrNull(r.muted_until),
    }));
  }

  return {
    async insert(c) {
      const rows = await q.query(
        `INSERT INTO conversations (id, kind, direct_key, title, metadata, created_by, last_activity_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $7, $7)
         ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
        [c.id, c.kind, c.directKey, c.title, JSON.stringify(c.metadata), c.createdBy, c.at],
      );
      return rows.length === 1;
    },
    async findDirect(directKey) {
      const rows = await q.query<{ id: string }>('SELECT id FROM conversations WHERE direct_key = $1', [directKey]);
      return rows[0]?.id ?? null;
    },
    async lockAsMember(conversationId, userId) {
      // The role is read after the lock is granted (migration 005): a member removed or
      // demoted by the transaction we waited for is seen as such.
      const rows = await q.query('SELECT * FROM parley_lock_member($1, $2)', [conversationId, userId]);
      return rows[0] ? toLock(rows[0]) : null;
    },
    async takeSeq(conversationId, { message, at }) {
      const rows = await q.query<{ seq: number }>(
        `UPDATE conversations SET last_seq = last_seq + 1,
           last_message_seq = CASE WHEN $2 THEN last_seq + 1 ELSE last_message_seq END,
           last_activity_at = CASE WHEN $2 THEN GREATEST(last_activity_at, $3) ELSE last_activity_at END
         WHERE id = $1 RETURNING last_seq AS seq`,
        [conversationId, message, at],
      );
      return rows[0]!.seq;
    },
    async takeSeqAsMember(conversationId, userId, { message, at }) {
      const rows = await q.query('SELECT * FROM parley_take_seq_as_member($1, $2, $3, $4)', [conversationId, userId, message, at]);
      return rows[0] ? { ...toLock(rows[0]), seq: Number(rows[0].seq) } : null;
    },
    async getFor(conversationId, userId) {
      const rows = await q.query(`${VIEW} WHERE me.conversation_id = $1 AND me.user_id = $2`, [conversationId, userId]);
      return (await hydrate(rows))[0] ?? null;
    },
    async listFor(userId, page) {
      const rows = await q.query(
        `${VIEW} WHERE me.user_id = $1
           AND (me.archived_seq IS NOT NULL AND c.last_message_seq <= me.archived_seq) = $2
           AND ($3::timestamptz IS NULL OR (c.last_activity_at, c.id) < ($3::timestamptz, $4::uuid))
         ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $5`,
        [userId, page.archived, page.before?.at ?? null, page.before?.id ?? null, page.limit],
      );
      return hydrate(rows);
    },
    async updateInfo(conversationId, patch, at) {
      const rows = await q.query(
        `UPDATE conversations SET
           title = CASE WHEN $2 THEN $3 ELSE title END,
           metadata = COALESCE($4::text::jsonb, metadata),
           updated_at = $5
         WHERE id = $1 RETURNING id, kind, title, metadata, last_seq, updated_at`,
        [
          conversationId,
          patch.title !== undefined,
          patch.title ?? null,
          patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
          at,
        ],
      );
      return toInfo(rows[0]!);
    },
  };
}
