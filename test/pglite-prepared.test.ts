import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPgliteThread } from '../src/storage/db-pglite-thread.ts';
import type { Db } from '../src/storage/db.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

/**
 * Named statements on PGlite (QueryOptions.name) skip query()'s per-call parse and describe
 * (storage/pglite-prepared.ts): the same rows as query(), never inside another caller's
 * transaction, and errors that leave the connection usable. Pipelines of them are one
 * transaction, and their settings last as long as they do. In process and in the worker.
 */
const engines: [string, () => Promise<Db>][] = [
  ['in process', async () => openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) })],
  ['in its worker thread', async () => openPgliteThread({ loadDataDir: new Uint8Array(fs.readFileSync(await ensurePgliteTemplate())) })],
];

for (const [where, open] of engines) {
  describe(`named statements on PGlite ${where}`, () => {
    let db: Db;
    before(async () => {
      db = await open();
      await db.exec('CREATE TABLE t (id int PRIMARY KEY, note text)');
    });
    after(() => db?.close());

    test('answer the rows query() answers, types parsed alike', async () => {
      const text = `SELECT $1::bigint AS big, $2::text[] AS texts, $3::uuid[] AS ids, $4::jsonb AS doc, $5::timestamptz AS at,
        $6::text AS nothing, $7::boolean AS yes, g AS n FROM generate_series(1, 3) g`;
      const params = [
        '9007199254740991',
        ['a "quoted" one', 'back\\slash', 'comma, brace}', null, ''],
        ['0190f3a4-0000-7000-8000-000000000001'],
        JSON.stringify({ k: [1, 'two'] }),
        '2026-12-01T04:00:00.000Z',
        null,
        true,
      ];
      const plain = await db.query(text, params);
      assert.deepEqual(await db.query(text, params, { name: 'shapes' }), plain);
      assert.deepEqual(await db.query(text, params, { name: 'shapes' }), plain, 'and again, prepared');
      assert.equal(plain.length, 3);
      assert.deepEqual(plain[0]!.texts, ['a "quoted" one', 'back\\slash', 'comma, brace}', null, '']);
      assert.equal(plain[0]!.big, 9007199254740991);
    });

    test('wait for a transaction under way: a rolled-back row is never seen, a committed one is', async () => {
      const count = () => db.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE id = $1', [1], { name: 'count_t' });
      let during: Promise<{ n: number }[]> | null = null;
      await assert.rejects(
        db.transaction(async (q) => {
          await q.query('INSERT INTO t (id) VALUES (1)');
          during = count();
          await q.query('SELECT 1');
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.deepEqual(await during, [{ n: 0 }], 'it ran after the rollback, not inside the transaction');

      await db.transaction(async (q) => {
        await q.query('INSERT INTO t (id) VALUES (1)');
        during = count();
        await q.query('SELECT 1');
      });
      assert.deepEqual(await during, [{ n: 1 }], 'and after the commit');
    });

    test('an error carries its code, and the connection goes on', async () => {
      const insert = (id: number) => db.query('INSERT INTO t (id, note) VALUES ($1, $2) RETURNING id', [id, 'x'], { name: 'insert_t' });
      assert.deepEqual(await insert(2), [{ id: 2 }]);
      await assert.rejects(insert(2), (err: { code?: string }) => err.code === '23505');
      assert.deepEqual(await insert(3), [{ id: 3 }]);
      await assert.rejects(db.query('SELECT 2', [], { name: 'insert_t' }), /another text/);
    });

    test('a pipeline is one transaction, inside a transaction or on its own, and its settings end with it', async () => {
      const insert = (id: number) => ({ name: 'pipe_insert', text: 'INSERT INTO t (id) VALUES ($1) RETURNING id', params: [id] });
      const count = { name: 'pipe_count', text: 'SELECT count(*)::int FROM t WHERE id >= 100', params: [] };
      const divide = (by: number) => ({ name: 'pipe_divide', text: 'SELECT 10 / $1::int', params: [by] });
      const setting = { name: 'pipe_setting', text: "SELECT current_setting('enable_hashjoin') || $1::text", params: [''] };
      const settings = { enable_hashjoin: 'off' };
      const rows = () => db.query('SELECT id FROM t WHERE id >= 100 ORDER BY id');

      await assert.rejects(db.pipeline([insert(100), divide(0)], settings), { code: '22012' });
      assert.deepEqual(await rows(), [], 'the insert before the failure was undone');
      assert.deepEqual(await db.pipeline([insert(100), count, divide(5), setting], settings), [[[100]], [[1]], [[2]], [['off']]]);
      assert.deepEqual(await db.query("SELECT current_setting('enable_hashjoin') AS s"), [{ s: 'on' }], 'the settings ended with the pipeline');

      await assert.rejects(
        db.transaction(async (q) => {
          assert.deepEqual(await q.pipeline([insert(101), setting], settings), [[[101]], [['off']]]);
          assert.deepEqual(await q.query("SELECT current_setting('enable_hashjoin') AS s"), [{ s: 'on' }], 'back for the rest of the transaction');
          await q.pipeline([divide(0)]);
        }),
        { code: '22012' },
      );
      assert.deepEqual(await rows(), [{ id: 100 }], "the transaction's pipeline went with it");
    });
  });
}
