import type { Attachment, Member, Message, ReactionSummary, Role } from '../../domain/types.ts';

type Row = Record<string, unknown>;

export const iso = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();
export const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** A message's reactions, grouped by emoji in order of first use, as one JSON value. */
export const REACTIONS_EXPR = `COALESCE((SELECT json_agg(json_build_object('emoji', r.emoji, 'count', r.n, 'userIds', r.users) ORDER BY r.first, r.emoji)
    FROM (SELECT emoji, count(*)::int AS n, array_agg(user_id ORDER BY created_at, user_id) AS users, min(created_at) AS first
          FROM reactions WHERE message_id = m.id GROUP BY emoji) r), '[]'::json)`;

/** Columns of a message with its reactions folded in (one round trip per page). */
export const MESSAGE_COLUMNS = `m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.body, m.attachments,
  m.reply_to, m.reply_count, m.mentions, m.created_at, m.edited_at, m.deleted_at, ${REACTIONS_EXPR} AS reactions`;

export function toMessage(r: Row): Message {
  return {
    id: String(r.id),
    conversationId: String(r.conversation_id),
    seq: Number(r.seq),
    senderId: String(r.sender_id),
    clientMsgId: String(r.client_msg_id),
    body: String(r.body),
    attachments: json<Attachment[]>(r.attachments),
    replyTo: r.reply_to ? String(r.reply_to) : null,
    replyCount: Number(r.reply_count),
    mentions: (r.mentions as string[]) ?? [],
    reactions: json<ReactionSummary[]>(r.reactions ?? []),
    createdAt: iso(r.created_at),
    editedAt: isoOrNull(r.edited_at),
    deletedAt: isoOrNull(r.deleted_at),
  };
}

/**
 * A member's unread messages in a conversation, in a few index probes however many there are
 * (migration 010): the conversation's message count, less the ordinal (msg_no) of the last
 * message at or before the member's read marker, less the messages deleted after it (their
 * partial index holds only deleted ones). The member's own messages need no term: a send
 * moves its sender's read marker to it in the same statement, so none is ever after it.
 * `cm` and `c` are the aliases of the member's row and of the conversation's.
 */
export const unreadCount = (cm: string, c: string) => `CASE WHEN ${c}.last_message_seq <= ${cm}.read_seq THEN 0 ELSE ${c}.message_count
    - COALESCE((SELECT r.msg_no FROM messages r WHERE r.conversation_id = ${cm}.conversation_id AND r.seq <= ${cm}.read_seq
        ORDER BY r.seq DESC LIMIT 1), 0)
    - (SELECT count(*) FROM messages d WHERE d.conversation_id = ${cm}.conversation_id AND d.seq > ${cm}.read_seq
        AND d.deleted_at IS NOT NULL) END`;

export const MEMBER_COLUMNS = `cm.conversation_id, cm.user_id, cm.role, cm.joined_at, cm.read_seq, cm.delivered_seq, u.name, u.picture`;

export function toMember(r: Row): Member {
  return {
    userId: String(r.user_id),
    name: (r.name as string | null) ?? null,
    picture: (r.picture as string | null) ?? null,
    role: r.role as Role,
    joinedAt: iso(r.joined_at),
    readSeq: Number(r.read_seq),
    deliveredSeq: Number(r.delivered_seq),
  };
}
