import type { Notification, NotificationPreferences, NotificationPriority, NotificationType } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { NotificationRepo } from '../store.ts';
import { iso, isoOrNull } from './rows.ts';

type Row = Record<string, unknown>;

const COLUMNS = 'id, user_id, type, priority, title, body, data, action_url, created_at, read_at, expires_at';
/** Still in the inbox: not expired. */
const LIVE = '(expires_at IS NULL OR expires_at > $NOW)';

const toNotification = (r: Row): Notification => ({
  id: String(r.id),
  userId: String(r.user_id),
  type: r.type as NotificationType,
  priority: r.priority as NotificationPriority,
  title: String(r.title),
  body: String(r.body),
  data: (r.data as Record<string, unknown>) ?? {},
  actionUrl: (r.action_url as string | null) ?? null,
  createdAt: iso(r.created_at),
  readAt: isoOrNull(r.read_at),
  expiresAt: isoOrNull(r.expires_at),
});

export function notificationRepo(q: Queryable): NotificationRepo {
  const live = (n: number) => LIVE.replace('$NOW', `$${n}`);
  return {
    async insertMany(rows, key) {
      if (rows.length === 0) return [];
      const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
      const inserted = await q.query(
        `INSERT INTO notifications (id, user_id, type, priority, title, body, data, action_url, idempotency_key, created_at)
         SELECT id, user_id, type, priority, title, body, data::jsonb, action_url, $9, created_at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $10::timestamptz[])
           AS t(id, user_id, type, priority, title, body, data, action_url, created_at)
         ON CONFLICT (user_id, idempotency_key) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          col((r) => r.id),
          col((r) => r.userId),
          col((r) => r.type),
          col((r) => r.priority),
          col((r) => r.title),
          col((r) => r.body),
          col((r) => JSON.stringify(r.data)),
          col((r) => r.actionUrl),
          key,
          col((r) => r.createdAt),
        ],
      );
      return inserted.map(toNotification);
    },
    async byIdempotencyKey(userIds, key) {
      const rows = await q.query(`SELECT ${COLUMNS} FROM notifications WHERE user_id = ANY($1::text[]) AND idempotency_key = $2`, [userIds, key]);
      return rows.map(toNotification);
    },
    async list(userId, page, now) {
      const rows = await q.query(
        `SELECT ${COLUMNS} FROM notifications
         WHERE user_id = $1 AND ${live(2)}
           AND ($3::boolean IS NOT TRUE OR read_at IS NULL)
           AND ($4::text IS NULL OR type = $4)
           AND ($5::timestamptz IS NULL OR (created_at, id) < ($5::timestamptz, $6::uuid))
         ORDER BY created_at DESC, id DESC LIMIT $7`,
        [userId, now, page.unread ?? null, page.type ?? null, page.before?.at ?? null, page.before?.id ?? null, page.limit],
      );
      return rows.map(toNotification);
    },
    async get(userId, id, now) {
      const rows = await q.query(`SELECT ${COLUMNS} FROM notifications WHERE user_id = $1 AND id = $2 AND ${live(3)}`, [userId, id, now]);
      return rows[0] ? toNotification(rows[0]) : null;
    },
    async unreadAmong(refs, now) {
      if (refs.length === 0) return [];
      // Each entry by its key on its own (OFFSET 0), whatever the statistics say.
      const rows = await q.query<{ i: string }>(
        `SELECT x.i FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS x(user_id, id, i)
         CROSS JOIN LATERAL (SELECT 1 FROM notifications WHERE user_id = x.user_id AND id = x.id AND read_at IS NULL AND ${live(3)} OFFSET 0) n`,
        [refs.map((r) => r.userId), refs.map((r) => r.id), now],
        { name: 'parley_notifications_unread_among' },
      );
      const unread = new Set(rows.map((r) => Number(r.i) - 1));
      return refs.map((_, i) => unread.has(i));
    },
    async unreadCount(userId, now) {
      const rows = await q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL AND ${live(2)}`,
        [userId, now],
      );
      return rows[0]?.n ?? 0;
    },
    async markRead(userId, id, now, keepReadMs) {
      const rows = await q.query(
        `UPDATE notifications SET read_at = COALESCE(read_at, $3),
           expires_at = LEAST(COALESCE(expires_at, 'infinity'), COALESCE(read_at, $3) + $4 * interval '1 millisecond')
         WHERE user_id = $1 AND id = $2 AND ${live(3)} RETURNING ${COLUMNS}`,
        [userId, id, now, keepReadMs],
      );
      return rows[0] ? toNotification(rows[0]) : null;
    },
    async markAllRead(userId, now, keepReadMs) {
      const rows = await q.query(
        `UPDATE notifications SET read_at = $2,
           expires_at = LEAST(COALESCE(expires_at, 'infinity'), $2 + $3 * interval '1 millisecond')
         WHERE user_id = $1 AND read_at IS NULL AND ${live(2)} RETURNING id`,
        [userId, now, keepReadMs],
      );
      return rows.length;
    },
    async delete(userId, id) {
      return (await q.query('DELETE FROM notifications WHERE user_id = $1 AND id = $2 RETURNING id', [userId, id])).length === 1;
    },
    async deleteAll(userId) {
      return (await q.query('DELETE FROM notifications WHERE user_id = $1 RETURNING id', [userId])).length;
    },
    async preferences(userIds) {
      const rows = await q.query<{ user_id: string; prefs: NotificationPreferences }>(
        'SELECT user_id, prefs FROM notification_preferences WHERE user_id = ANY($1::text[])',
        [userIds],
        { name: 'parley_preferences' },
      );
      return new Map(rows.map((r) => [r.user_id, r.prefs]));
    },
    async putPreferences(userId, prefs, at) {
      await q.query(
        `INSERT INTO notification_preferences (user_id, prefs, updated_at) VALUES ($1, $2::text::jsonb, $3)
         ON CONFLICT (user_id) DO UPDATE SET prefs = EXCLUDED.prefs, updated_at = EXCLUDED.updated_at`,
        [userId, JSON.stringify(prefs), at],
      );
    },
  };
}
