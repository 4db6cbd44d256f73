import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../src/storage/db.ts';

/**
 * `conversations` groups of `members` each, written straight to the tables (no events, no
 * notifications): group c has users u(c × members) to u(c × members + members − 1). Returns
 * the groups' ids, in that order. Also used by bench/send-batch.ts.
 */
export async function seedGroups(db: Queryable, conversations: number, members: number): Promise<string[]> {
  await db.query(`INSERT INTO users (id) SELECT 'u' || g FROM generate_series(0, $1::int - 1) g`, [conversations * members]);
  const ids = Array.from({ length: conversations }, () => randomUUID());
  await db.query(
    `INSERT INTO conversations (id, kind, created_by, last_activity_at, created_at, updated_at)
     SELECT id, 'group', 'u0', now(), now(), now() FROM unnest($1::uuid[]) id`,
    [ids],
  );
  await db.query(
    `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
     SELECT ids[c + 1], 'u' || (c * $2::int + m), 'member', now()
     FROM (SELECT $1::uuid[] AS ids) a, generate_series(0, $3::int - 1) c, generate_series(0, $2::int - 1) m`,
    [ids, members, conversations],
  );
  return ids;
}
