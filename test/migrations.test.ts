import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import { isMigrated, listMigrations, migrate } from '../src/storage/migrate.ts';
import { PG_URL, skippedPostgres } from './helpers/backends.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';
import fs from 'node:fs';

test('migrations are numbered, forward-only files', () => {
  const ids = listMigrations().map((m) => m.id);
  assert.ok(ids.length > 0);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  assert.equal(new Set(ids).size, ids.length);
});

test('pglite: an already-migrated data dir migrates to a no-op', async () => {
  const db = await openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
  try {
    assert.equal(await isMigrated(db), true);
    assert.deepEqual(await migrate(db), []);
  } finally {
    await db.close();
  }
});

test('postgres: instances starting together apply each migration exactly once', { skip: skippedPostgres ?? false }, async () => {
  const name = `parley_migrate_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const dbs = await Promise.all([1, 2, 3].map(() => openPostgres(url.toString(), { max: 2 })));
  try {
    const applied = await Promise.all(dbs.map((db) => migrate(db)));
    assert.deepEqual(applied.flat().sort(), listMigrations().map((m) => m.name).sort());
    for (const db of dbs) assert.equal(await isMigrated(db), true);
    assert.deepEqual(await migrate(dbs[0]!), []);
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
});
