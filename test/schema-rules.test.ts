import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { test } from 'node:test';
import type { Db } from '../src/storage/db.ts';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import { migrate } from '../src/storage/migrate.ts';
import { sendMany } from '../src/storage/sql/send-batch.ts';
import { skippedPostgres, throwawayDatabase } from './helpers/backends.ts';
import { plainMessage } from './helpers/plain-message.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';
import { seedGroups } from './helpers/seed-groups.ts';

/**
 * The schema refuses what it always refused (migration 012 moved the rules, it did not drop
 * them), and the tables every send batch updates carry no table CHECK: PostgreSQL re-parses
 * those for each statement that writes the table, columns untouched or not.
 */
async function refuses(db: Db, sql: string, params: unknown[] = []) {
  await assert.rejects(db.query(sql, params), (err: { code?: string }) => {
    assert.equal(err.code, '23514', `${sql}: ${String(err)}`);
    return true;
  });
}

async function checkRules(db: Db) {
  const [group] = await seedGroups(db, 1, 2);
  const conversation = (kind: string, directKey: string | null) =>
    refuses(
      db,
      `INSERT INTO conversations (id, kind, direct_key, created_by, last_activity_at, created_at, updated_at)
       VALUES ($1, $2, $3, 'u0', now(), now(), now())`,
      [randomUUID(), kind, directKey],
    );
  await conversation('channel', null);
  await conversation('direct', null);
  await conversation('group', 'u0\nu1');
  await refuses(db, `UPDATE conversations SET kind = 'direct' WHERE id = $1`, [group]);
  await refuses(db, `UPDATE conversations SET direct_key = 'u0\nu1' WHERE id = $1`, [group]);
  await refuses(db, `INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) VALUES ($1, 'u0', 'boss', now())`, [group]);
  await refuses(db, `UPDATE conversation_members SET role = 'boss' WHERE conversation_id = $1`, [group]);
  await refuses(db, 'INSERT INTO message_log_head (id, pos) VALUES (2, 0)');
  await refuses(db, 'INSERT INTO notify_position (id, pos) VALUES (2, 0)');

  // What the rules allow still goes through, a send batch included.
  await db.query(
    `INSERT INTO conversations (id, kind, direct_key, created_by, last_activity_at, created_at, updated_at)
     VALUES ($1, 'direct', 'u0\nu1', 'u0', now(), now(), now())`,
    [randomUUID()],
  );
  await db.query(`UPDATE conversation_members SET role = 'admin' WHERE conversation_id = $1 AND user_id = 'u1'`, [group]);
  const [sent] = await sendMany(db, [plainMessage({ conversationId: group!, senderId: 'u1', clientMsgId: 'm1', body: 'hi' })]);
  assert.deepEqual(sent, { outcome: 'created', seq: 1 });

  const checks = await db.query<{ relname: string; conname: string }>(
    `SELECT c.conrelid::regclass::text AS relname, c.conname FROM pg_constraint c
     WHERE c.contype = 'c' AND c.conrelid IN ('conversations'::regclass, 'conversation_members'::regclass, 'message_log_head'::regclass)`,
  );
  assert.deepEqual(checks, [], 'a table the send batch updates has a CHECK constraint again');
}

test('pglite: the schema keeps its rules off the send path', async () => {
  const db = await openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
  try {
    await migrate(db);
    await checkRules(db);
  } finally {
    await db.close();
  }
});

test('postgres: the schema keeps its rules off the send path', { skip: skippedPostgres ?? false }, async () => {
  const database = await throwawayDatabase();
  const db = await openPostgres(database.url, { max: 2 });
  try {
    await migrate(db);
    await checkRules(db);
  } finally {
    await db.close();
    await database.drop();
  }
});
