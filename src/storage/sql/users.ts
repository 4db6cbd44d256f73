import type { User } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { UserRepo } from '../store.ts';

export function userRepo(q: Queryable): UserRepo {
  return {
    async upsert(u, at) {
      // Flags say which fields the caller set, so a JWT without `picture` keeps the stored one.
      const rows = await q.query<User>(
        `INSERT INTO users (id, name, picture, email, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $8, COALESCE($4::text::jsonb, '{}'), $5, $5)
         ON CONFLICT (id) DO UPDATE SET
           name = CASE WHEN $6 THEN EXCLUDED.name ELSE users.name END,
           picture = CASE WHEN $7 THEN EXCLUDED.picture ELSE users.picture END,
           email = CASE WHEN $9 THEN EXCLUDED.email ELSE users.email END,
           metadata = CASE WHEN $4::text IS NOT NULL THEN EXCLUDED.metadata ELSE users.metadata END,
           updated_at = EXCLUDED.updated_at
         RETURNING id, name, picture`,
        [
          u.id,
          u.name ?? null,
          u.picture ?? null,
          u.metadata === undefined ? null : JSON.stringify(u.metadata),
          at,
          u.name !== undefined,
          u.picture !== undefined,
          u.email ?? null,
          u.email !== undefined,
        ],
      );
      return rows[0]!;
    },
    async ensure(ids, at) {
      if (ids.length === 0) return;
      await q.query(
        `INSERT INTO users (id, created_at, updated_at) SELECT unnest($1::text[]), $2, $2 ON CONFLICT (id) DO NOTHING`,
        [ids, at],
      );
    },
    async get(id) {
      const rows = await q.query<User & { email: string | null; metadata: Record<string, unknown> }>(
        'SELECT id, name, picture, email, metadata FROM users WHERE id = $1',
        [id],
      );
      return rows[0] ?? null;
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      return q.query<User>('SELECT id, name, picture FROM users WHERE id = ANY($1::text[])', [ids]);
    },
  };
}
