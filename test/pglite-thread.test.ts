import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { openPgliteThread } from '../src/storage/db-pglite-thread.ts';
import type { Db } from '../src/storage/db.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import { type Harness, harness, send, uid } from './helpers/harness.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

/** Embedded mode runs PGlite in a worker thread (storage/open.ts): the same store contract, and the sockets never wait for it. */
describe('PGlite in a worker thread', () => {
  let db: Db;
  let h: Harness;
  before(async () => {
    db = await openPgliteThread({ loadDataDir: new Uint8Array(fs.readFileSync(await ensurePgliteTemplate())) });
    await migrate(db);
    h = await harness({ store: createSqlStore(db) });
  });
  after(async () => {
    await h.close();
    await h.store.close();
  });

  test('a slow query does not stall the server: /health answers while it runs', async () => {
    let slowDone = false;
    const slow = db.query('SELECT pg_sleep(1)').then(() => {
      slowDone = true;
    });
    const health = await h.app.http.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 200);
    assert.equal(slowDone, false, 'the answer came only after the slow query');
    await slow;
  });

  test('sends, history, no-op rollbacks and transactions behave as in process', async () => {
    const ana = h.as(uid('ana'));
    const bob = h.as(uid('bob'));
    const id = await h.group(ana, [bob.userId]);
    const m = await send(ana, id, 'through the thread');
    assert.equal(m.seq, 1);
    // A repeated reaction is a no-op: its transaction rolls back and takes no seq.
    assert.equal((await bob.post(`/v1/messages/${m.id}/reactions`, { emoji: '👍' })).status, 200);
    assert.equal((await bob.post(`/v1/messages/${m.id}/reactions`, { emoji: '👍' })).status, 200);
    const history = await bob.get(`/v1/conversations/${id}/messages`);
    assert.deepEqual(history.body.messages.map((x: { body: string }) => x.body), ['through the thread']);
    assert.equal((await ana.get(`/v1/conversations/${id}`)).body.conversation.lastSeq, 2);
    // Errors keep their SQLSTATE across the thread, and a failed transaction leaves nothing.
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('CREATE TEMP TABLE IF NOT EXISTS thread_probe (id int PRIMARY KEY)');
        await tx.query('INSERT INTO thread_probe VALUES (1), (1)');
      }),
      (err: { code?: string }) => err.code === '23505',
    );
    assert.deepEqual(await db.query("SELECT to_regclass('pg_temp.thread_probe') AS t"), [{ t: null }]);
  });
});
