import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { openPostgres } from '../src/storage/db-pg.ts';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPgliteThread } from '../src/storage/db-pglite-thread.ts';
import type { Db } from '../src/storage/db.ts';
import { throwawayDatabase } from './helpers/backends.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

/**
 * QueryOptions.rowMode 'array', which the send batch reads its answer with: each row's
 * values in the statement's column order, parsed as the object rows are, whether the
 * statement is named or not, inside a transaction or not, on every engine.
 */
const engines: [string, () => Promise<Db>][] = [
  [
    'PostgreSQL',
    async () => {
      const database = await throwawayDatabase('parley_rowmode');
      const db = await openPostgres(database.url, { max: 2 });
      return { ...db, close: () => db.close().finally(() => database.drop()) };
    },
  ],
  ['PGlite in process', async () => openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) })],
  ['PGlite in its worker thread', async () => openPgliteThread({ loadDataDir: new Uint8Array(fs.readFileSync(await ensurePgliteTemplate())) })],
];

const text = `SELECT $1::bigint AS big, $2::text AS note, $3::text[] AS texts, $4::jsonb AS doc, NULL::uuid AS nothing, g AS n
  FROM generate_series(1, 2) g`;
const params = ['9007199254740991', 'a "quoted" note', ['x', 'back\\slash', null], JSON.stringify({ k: [1, 'two'] })];

for (const [engine, open] of engines) {
  describe(`rows as arrays on ${engine}`, () => {
    let db: Db;
    before(async () => {
      db = await open();
    });
    after(() => db?.close());

    test("the object rows' values, in column order, named or not, in a transaction or not", async () => {
      const objects = await db.query<Record<string, unknown>>(text, params);
      const arrays = objects.map((r) => Object.values(r));
      assert.deepEqual(arrays[1], [9007199254740991, 'a "quoted" note', ['x', 'back\\slash', null], { k: [1, 'two'] }, null, 2]);
      assert.deepEqual(await db.query(text, params, { rowMode: 'array' }), arrays);
      assert.deepEqual(await db.query(text, params, { name: 'rows_as_arrays', rowMode: 'array' }), arrays);
      assert.deepEqual(await db.query(text, params, { name: 'rows_as_arrays' }), objects, 'the same named statement, rows as objects');
      await db.transaction(async (q) => {
        assert.deepEqual(await q.query(text, params, { rowMode: 'array' }), arrays);
        assert.deepEqual(await q.query(text, params, { name: 'rows_as_arrays', rowMode: 'array' }), arrays);
      });
    });
  });
}
