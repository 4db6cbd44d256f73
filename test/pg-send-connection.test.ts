import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { openPostgres } from '../src/storage/db-pg.ts';
import type { Db, Queryable } from '../src/storage/db.ts';
import { throwawayDatabase } from './helpers/backends.ts';

/**
 * The send batcher's connection on PostgreSQL (pg-one-connection.ts): a named statement read
 * as arrays is described once per connection and its parameters written by Parley
 * (pg-pipeline-query.ts), so its answers must be the pool's, on the first execution and
 * the later ones; a failed execution leaves the connection usable; a lost connection is
 * made again by the next statement; an idle connection lets the process exit. Pipelines, on
 * it and on the pool: one transaction, whose failure undoes all of it and leaves nothing
 * half-prepared; settings held by the send connection only once they committed.
 */
const text = `SELECT $1::bigint AS big, $2::text AS note, $3::text[] AS texts, $4::uuid[] AS ids, NULL::jsonb AS nothing, g AS n
  FROM generate_series(1, $5::int) g`;
const awkward = ['', 'NULL', 'a,b', '{braces}', 'a "quoted" word', 'back\\slash', '\\"', ' spaced ', 'ünïcödé ✓', null];
const params = ['9007199254740991', 'a "quoted" \\ note', awkward, ['0190b6f4-9d7e-7c3a-8f00-000000000001', null], 2];

describe('the send connection on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof throwawayDatabase>>;
  let db: Db;
  let sends: Queryable;
  before(async () => {
    database = await throwawayDatabase('parley_sendconn');
    db = await openPostgres(database.url, { max: 3 });
    sends = db.sendConnection!;
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  const backendPid = async () => (await sends.query<[number]>('SELECT pg_backend_pid()', [], { rowMode: 'array' }))[0]![0];

  test("a named statement's rows as arrays: the pool's values, on the first execution and after", async () => {
    const expected = (await db.query<Record<string, unknown>>(text, params)).map((r) => Object.values(r));
    assert.deepEqual(expected[0]![2], awkward, 'the elements come back as they were sent');
    for (let k = 0; k < 3; k++) assert.deepEqual(await sends.query(text, params, { name: 'send_conn_rows', rowMode: 'array' }), expected, `execution ${k + 1}`);
    // A parameter Parley does not write itself (a Date) goes through node-postgres's own path.
    const at = new Date('2026-12-04T05:00:00.000Z');
    assert.deepEqual(await sends.query('SELECT $1::timestamptz AS at', [at], { name: 'send_conn_date', rowMode: 'array' }), [[at]]);
  });

  test('a failed execution rejects with its error and the next one is answered', async () => {
    const divide = 'SELECT 10 / $1::int AS q';
    assert.deepEqual(await sends.query(divide, [5], { name: 'send_conn_divide', rowMode: 'array' }), [[2]]);
    await assert.rejects(sends.query(divide, [0], { name: 'send_conn_divide', rowMode: 'array' }), { code: '22012' });
    assert.deepEqual(await sends.query(divide, [2], { name: 'send_conn_divide', rowMode: 'array' }), [[5]]);
    await assert.rejects(sends.query('SELECT 1', [], { name: 'send_conn_divide', rowMode: 'array' }), /Prepared statements must be unique/);
  });

  test('a pipeline is one transaction: a failing statement undoes the ones before it, and the next pipeline runs', async () => {
    await db.query('CREATE TABLE pipeline_probe (id int PRIMARY KEY)');
    const insert = { name: 'probe_insert', text: 'INSERT INTO pipeline_probe (id) VALUES ($1) RETURNING id', params: [1] };
    const count = { name: 'probe_count', text: 'SELECT count(*)::int FROM pipeline_probe', params: [] };
    const divide = (by: number) => ({ name: 'probe_divide', text: 'SELECT 10 / $1::int', params: [by] });
    for (const q of [sends, db]) {
      await assert.rejects(q.pipeline([insert, divide(0)]), { code: '22012' });
      assert.deepEqual(await db.query('SELECT id FROM pipeline_probe'), [], 'the insert before the failure was undone');
      // The second statement sees the first's row: the same transaction.
      assert.deepEqual(await q.pipeline([insert, count, divide(5)]), [[[1]], [[1]], [[2]]]);
      await db.query('DELETE FROM pipeline_probe');
    }
  });

  test("a pipeline failing before its later statements' Parse leaves them to be parsed next time; one statement twice is parsed once", async () => {
    const late = { name: 'probe_late', text: 'SELECT $1::text AS late', params: ['x'] };
    await assert.rejects(sends.pipeline([{ name: 'probe_fail_first', text: 'SELECT 1 / $1::int', params: [0] }, late]), { code: '22012' });
    assert.deepEqual(await sends.pipeline([late]), [[['x']]]);
    // A new statement twice in one pipeline is parsed once.
    const twice = { name: 'probe_twice', text: 'SELECT $1::int + 1', params: [1] };
    assert.deepEqual(await sends.pipeline([twice, twice]), [[[2]], [[2]]]);
  });

  test('settings a pipeline asks for hold on the send connection once they committed, and a failed pipeline sets them again', async () => {
    const settings = { enable_hashjoin: 'off' };
    const shown = { name: 'probe_setting', text: "SELECT current_setting('enable_hashjoin') || $1::text", params: [''] };
    await assert.rejects(sends.pipeline([shown, { name: 'probe_divide_again', text: 'SELECT 1 / $1::int', params: [0] }], settings), { code: '22012' });
    assert.deepEqual(await sends.pipeline([shown], settings), [[['off']]], 'set again after the failed pipeline rolled them back');
    // How many times the session's settings were set on this connection.
    const sets = async () =>
      (await sends.query<[number]>("SELECT (generic_plans + custom_plans)::int FROM pg_prepared_statements WHERE name = 'parley_settings_set_session'", [], { rowMode: 'array' }))[0]![0];
    assert.equal(await sets(), 2);
    assert.deepEqual(await sends.pipeline([shown], settings), [[['off']]]);
    assert.equal(await sets(), 2, 'held by the connection: not set again');
    assert.deepEqual(await sends.pipeline([shown], { enable_mergejoin: 'off' }), [[['on']]], "another pipeline's settings replace them");
    assert.deepEqual(await sends.pipeline([shown]), [[['on']]]);
    assert.deepEqual(await db.pipeline([shown], settings), [[['off']]]);
    assert.deepEqual(await db.query("SELECT current_setting('enable_hashjoin') AS s"), [{ s: 'on' }], 'on the pool: for the pipeline alone');
  });

  test('a connection lost is made again by the next statement, which prepares and describes anew', async () => {
    await sends.query(text, params, { name: 'send_conn_rows', rowMode: 'array' });
    const before = await backendPid();
    await db.query('SELECT pg_terminate_backend($1)', [before]);
    // The statement written on the dead connection may fail; the one after it gets a new one.
    let rows: unknown[] | undefined;
    for (let attempt = 0; attempt < 3 && !rows; attempt++) rows = await sends.query(text, params, { name: 'send_conn_rows', rowMode: 'array' }).catch(() => undefined);
    assert.equal(rows?.length, 2);
    assert.notEqual(await backendPid(), before);
  });
});

test('an idle send connection does not keep the process alive', async () => {
  const database = await throwawayDatabase('parley_sendexit');
  try {
    const script = `
      import { openPostgres } from ${JSON.stringify(path.resolve('src/storage/db-pg.ts'))};
      const db = await openPostgres(process.env.URL, { max: 2 });
      await db.sendConnection.query('SELECT 1 AS one', [], { name: 'exit_probe', rowMode: 'array' });
      console.log('queried');`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, URL: database.url },
      timeout: 30_000,
    });
    assert.equal(stdout.trim(), 'queried', 'the script ran to its end and exited without closing the connections');
  } finally {
    await database.drop();
  }
});
