import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { binaryArray } from '../src/storage/binary-arrays.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPgliteThread } from '../src/storage/db-pglite-thread.ts';
import type { Db, Queryable } from '../src/storage/db.ts';
import { throwawayDatabase } from './helpers/backends.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

/**
 * Array parameters of named statements go in PostgreSQL's binary format where they can
 * (storage/binary-arrays.ts): byte for byte what the server's own array_send writes, and on
 * every engine the values the server reads are the ones the text path gives it, including
 * those that fall back to text (a uuid in another spelling, a timestamp finer than a ms).
 */
const UUID_ARRAY = 2951;
const TEXT_ARRAY = 1009;
const TIMESTAMPTZ_ARRAY = 1185;

const uuids = ['0190b6f4-9d7e-7c3a-8f00-000000000001', null, 'FFFFFFFF-0000-4ABC-8DEF-0123456789AB'];
const texts = ['', 'NULL', 'a,b', '{braces}', 'a "quoted" word', 'back\\slash', '\\"', ' spaced ', 'ünïcödé ✓ 🎉', null];
const ats = ['2026-12-04T05:00:00.000Z', null, '1999-12-31T23:59:59.999Z', '1901-06-01T12:30:45.123Z', '2250-01-01T00:00:00.001Z', '2024-02-29T23:59:59.000Z', '1800-03-01T00:00:00.000Z'];

describe('binary arrays', () => {
  let database: Awaited<ReturnType<typeof throwawayDatabase>>;
  let db: Db;
  before(async () => {
    database = await throwawayDatabase('parley_binarrays');
    db = await openPostgres(database.url, { max: 2 });
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  test("are byte for byte the server's own binary form", async () => {
    const cases: [number, string, (string | null)[]][] = [
      [UUID_ARRAY, 'uuid[]', uuids],
      [TEXT_ARRAY, 'text[]', texts],
      [TIMESTAMPTZ_ARRAY, 'timestamptz[]', ats],
      [TEXT_ARRAY, 'text[]', []],
    ];
    for (const [oid, type, values] of cases) {
      const [row] = await db.query<{ bytes: Buffer }>(`SELECT array_send($1::${type}) AS bytes`, [values]);
      assert.deepEqual(binaryArray(oid, values), row!.bytes, `${type} ${JSON.stringify(values)}`);
    }
  });

  test('leave to the text path what they cannot write exactly', () => {
    assert.equal(binaryArray(UUID_ARRAY, ['{0190b6f4-9d7e-7c3a-8f00-000000000001}']), null, 'a uuid in braces');
    assert.equal(binaryArray(UUID_ARRAY, ['0190b6f49d7e7c3a8f00000000000001']), null, 'a uuid without hyphens');
    assert.equal(binaryArray(UUID_ARRAY, ['0190b6f4-9d7e-7c3a-8f00-00000000000g']), null, 'not hex');
    assert.equal(binaryArray(TIMESTAMPTZ_ARRAY, ['2026-12-04T05:00:00.123456Z']), null, 'finer than a millisecond');
    assert.equal(binaryArray(TIMESTAMPTZ_ARRAY, ['2026-12-04 05:00:00+00']), null, 'another spelling');
    assert.equal(binaryArray(TIMESTAMPTZ_ARRAY, ['+275760-09-13T00:00:00.000Z']), null, 'a six-digit year');
    assert.equal(binaryArray(TIMESTAMPTZ_ARRAY, ['9999-12-31T23:59:59.999Z']), null, 'beyond a double of microseconds');
    assert.equal(binaryArray(TIMESTAMPTZ_ARRAY, ['2026-02-29T00:00:00.000Z']), null, 'a day the month does not have');
    assert.equal(binaryArray(TIMESTAMPTZ_ARRAY, ['2026-12-04T24:00:00.000Z']), null, 'an hour past the day');
    assert.equal(binaryArray(TEXT_ARRAY, [1, 2]), null, 'not strings');
    assert.equal(binaryArray(1007, ['1']), null, 'an array type not written in binary (int4[])');
    assert.equal(binaryArray(undefined, ['x']), null, 'no type known');
  });
});

/** Each engine's named path, read back as text by the server: what it received. */
const text = `SELECT $1::uuid[]::text[] AS ids, $2::text[] AS texts,
  (SELECT array_agg(to_char(x AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') ORDER BY o) FROM unnest($3::timestamptz[]) WITH ORDINALITY u(x, o)) AS ats`;
/** Parameters, and the timestamps as the server read them (to the microsecond, UTC). */
const sets: [string, unknown[], (string | null)[]][] = [
  [
    'writable in binary',
    [uuids, texts, ats],
    ['2026-12-04T05:00:00.000000', null, '1999-12-31T23:59:59.999000', '1901-06-01T12:30:45.123000', '2250-01-01T00:00:00.001000', '2024-02-29T23:59:59.000000', '1800-03-01T00:00:00.000000'],
  ],
  [
    'falling back to text',
    [['{0190b6f4-9d7e-7c3a-8f00-000000000001}', uuids[0]], ['x'], ['2026-12-04T05:00:00.123456Z', ats[0]]],
    ['2026-12-04T05:00:00.123456', '2026-12-04T05:00:00.000000'],
  ],
];

const engines: [string, () => Promise<{ db: Db; named: Queryable }>][] = [
  [
    'PostgreSQL (the send connection)',
    async () => {
      const database = await throwawayDatabase('parley_binarrays_engine');
      const db = await openPostgres(database.url, { max: 2 });
      const close = async () => {
        await db.close();
        await database.drop();
      };
      return { db: { ...db, close }, named: db.sendConnection! };
    },
  ],
  [
    'PGlite in process',
    async () => {
      const db = await openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
      return { db, named: db };
    },
  ],
  [
    'PGlite in its worker thread',
    async () => {
      const db = await openPgliteThread({ loadDataDir: new Uint8Array(fs.readFileSync(await ensurePgliteTemplate())) });
      return { db, named: db };
    },
  ],
];

for (const [where, open] of engines) {
  describe(`named statements' arrays on ${where}`, () => {
    let engine: { db: Db; named: Queryable };
    before(async () => {
      engine = await open();
    });
    after(() => engine?.db.close());

    for (const [what, params, read] of sets) {
      test(`reach the server as the text path sends them: ${what}`, async () => {
        const expected = (await engine.db.query<Record<string, unknown>>(text, params)).map((r) => Object.values(r));
        assert.deepEqual(expected[0]![2], read);
        // The first execution describes the statement (text); the later ones know its types.
        for (let k = 0; k < 3; k++) {
          assert.deepEqual(await engine.named.query(text, params, { name: `binarrays_${what.length}`, rowMode: 'array' }), expected, `execution ${k + 1}`);
        }
      });
    }
  });
}
