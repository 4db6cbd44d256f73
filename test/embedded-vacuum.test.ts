import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import type { Db } from '../src/storage/db.ts';
import { openPglite } from '../src/storage/db-pglite.ts';
import { vacuumDue } from '../src/storage/embedded-vacuum.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

/**
 * PGlite runs no autovacuum (single-user mode), and single-user mode does not refuse writes
 * at the transaction-id wraparound limit: the embedded store must vacuum and freeze itself.
 */

async function migrated(): Promise<Db> {
  const db = await openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
  await migrate(db);
  return db;
}

type Stats = { n_dead_tup: number; vacuum_count: number; analyze_count: number };
const statsOf = async (db: Db, table: string) =>
  (await db.query<Stats>(`SELECT n_dead_tup, vacuum_count, analyze_count FROM pg_stat_all_tables WHERE relid = $1::regclass`, [table]))[0]!;

/**
 * 200 write transactions, then one that deletes what they wrote: 200 dead row versions in
 * `conversations`. Deleted rows, not updated ones: an update's dead versions are pruned from
 * their page as it fills (how many are left depends on the row's width), while nothing reads
 * these pages again before the vacuum does.
 */
async function churn(db: Db) {
  await db.query(`INSERT INTO users (id) VALUES ('u0') ON CONFLICT DO NOTHING`);
  for (let i = 0; i < 200; i++) {
    await db.query(
      `INSERT INTO conversations (id, kind, created_by, last_activity_at, created_at, updated_at)
       VALUES (gen_random_uuid(), 'group', 'u0', now(), now(), now())`,
    );
  }
  await db.query(`DELETE FROM conversations WHERE created_by = 'u0'`);
  // Statistics are flushed at most once a second: now, so the counters below show the churn.
  await db.query('SELECT pg_stat_force_next_flush()');
}

const frozenAge = async (db: Db) => Number((await db.query<{ age: number }>('SELECT age(datfrozenxid) AS age FROM pg_database WHERE datname = current_database()'))[0]!.age);

test('a pass vacuums and analyzes what autovacuum would, and nothing else', async () => {
  const db = await migrated();
  try {
    await churn(db);
    const before = await statsOf(db, 'conversations');
    // Past autovacuum's threshold (50 + 20% of no live row).
    assert.equal(before.n_dead_tup, 200, JSON.stringify(before));
    const untouched = await statsOf(db, 'devices');
    assert.ok((await vacuumDue(db)) >= 1);
    const after = await statsOf(db, 'conversations');
    assert.equal(after.n_dead_tup, 0);
    assert.equal(after.vacuum_count, before.vacuum_count + 1);
    assert.equal(after.analyze_count, before.analyze_count + 1);
    assert.deepEqual(await statsOf(db, 'devices'), untouched, 'a table with nothing to do is left alone');
  } finally {
    await db.close();
  }
});

test('a table past the freeze age is frozen: the database horizon moves up to now', async () => {
  const db = await migrated();
  try {
    await churn(db);
    const age = await frozenAge(db);
    assert.ok(age >= 200, `age ${age}`);
    await vacuumDue(db, 0); // every table is "too old"
    assert.ok((await frozenAge(db)) < 10, `age after freezing: ${await frozenAge(db)} (was ${age})`);
  } finally {
    await db.close();
  }
});

test('the embedded store runs passes on its interval, and close waits for one under way', async () => {
  const db = await migrated();
  await churn(db);
  assert.ok((await statsOf(db, 'conversations')).n_dead_tup > 50);
  const store = createSqlStore(db, { vacuumIntervalMs: 20 });
  try {
    const deadline = Date.now() + 30_000;
    while ((await statsOf(db, 'conversations')).n_dead_tup > 0) {
      assert.ok(Date.now() < deadline, 'no pass vacuumed the conversations within 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await store.close();
  }
});
