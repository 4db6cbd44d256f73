import type { Device, DevicePlatform } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { DeviceRepo } from '../store.ts';
import { iso } from './rows.ts';

type Row = Record<string, unknown>;

const toDevice = (r: Row): Device => ({
  id: String(r.id),
  platform: r.platform as DevicePlatform,
  token: String(r.token),
  keys: (r.keys as Device['keys']) ?? null,
  createdAt: iso(r.created_at),
});

export function deviceRepo(q: Queryable): DeviceRepo {
  return {
    async upsert(userId, d, at) {
      const rows = await q.query(
        `INSERT INTO devices (id, user_id, platform, token, keys, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $6)
         ON CONFLICT (platform, token) DO UPDATE SET user_id = EXCLUDED.user_id, keys = EXCLUDED.keys, updated_at = EXCLUDED.updated_at
         RETURNING id, platform, token, keys, created_at`,
        [d.id, userId, d.platform, d.token, d.keys ? JSON.stringify(d.keys) : null, at],
      );
      return toDevice(rows[0]!);
    },
    async delete(userId, id) {
      return (await q.query('DELETE FROM devices WHERE user_id = $1 AND id = $2 RETURNING id', [userId, id])).length === 1;
    },
    async getMany(refs) {
      if (refs.length === 0) return [];
      const rows = await q.query(
        `SELECT x.i, d.id, d.platform, d.token, d.keys, d.created_at
         FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS x(user_id, id, i)
         CROSS JOIN LATERAL (SELECT * FROM devices WHERE id = x.id AND user_id = x.user_id OFFSET 0) d`,
        [refs.map((r) => r.userId), refs.map((r) => r.id)],
        { name: 'parley_device_get' },
      );
      const out: (Device | null)[] = refs.map(() => null);
      for (const r of rows) out[Number(r.i) - 1] = toDevice(r);
      return out;
    },
    async list(userId) {
      const rows = await q.query('SELECT id, platform, token, keys, created_at FROM devices WHERE user_id = $1 ORDER BY created_at', [userId], { name: 'parley_device_list' });
      return rows.map(toDevice);
    },
    async listOf(userIds) {
      const out = new Map<string, Device[]>();
      if (userIds.length === 0) return out;
      const rows = await q.query(
        'SELECT user_id, id, platform, token, keys, created_at FROM devices WHERE user_id = ANY ($1::text[]) ORDER BY user_id, created_at',
        [userIds],
        { name: 'parley_device_list_of' },
      );
      for (const r of rows) {
        const user = String(r.user_id);
        const list = out.get(user) ?? [];
        if (list.length === 0) out.set(user, list);
        list.push(toDevice(r));
      }
      return out;
    },
    async owners(userIds, platforms) {
      if (userIds.length === 0 || platforms.size === 0) return new Set();
      const rows = await q.query<{ user_id: string }>('SELECT DISTINCT user_id FROM devices WHERE user_id = ANY ($1::text[]) AND platform = ANY ($2::text[])', [
        userIds,
        [...platforms],
      ]);
      return new Set(rows.map((r) => r.user_id));
    },
  };
}
