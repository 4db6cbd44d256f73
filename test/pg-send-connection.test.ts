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
 * (pg-named-array-query.ts), so its answers must be the pool's, on the first execution and
 * the later ones; a failed execution leaves the connection usable; a lost connection is
 * made again by the next statement; an idle connection lets the process exit.
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
