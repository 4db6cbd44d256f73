import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openPostgres } from '../src/storage/db-pg.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import { throwawayDatabase } from './helpers/backends.ts';
import { SECRET, tokenFor } from './helpers/harness.ts';
import { plainMessage } from './helpers/plain-message.ts';
import { seedGroups } from './helpers/seed-groups.ts';
import { type ServerProcess, startServer } from './helpers/server-process.ts';

/**
 * PARLEY_DB_POOL_SIZE bounds the PostgreSQL connections one instance holds, so N instances
 * fit under the server's max_connections (a rolling deploy runs old and new side by side).
 */
describe('PARLEY_DB_POOL_SIZE', () => {
  let db: Awaited<ReturnType<typeof throwawayDatabase>>;
  let server: ServerProcess;
  before(async () => {
    db = await throwawayDatabase('parley_pool');
    server = await startServer({ DATABASE_URL: db.url, PARLEY_JWT_SECRET: SECRET, PARLEY_RATE_LIMIT: 'off', PARLEY_DB_POOL_SIZE: '3' });
  });
  after(async () => {
    await server?.kill();
    await db?.drop();
  });

  test('100 concurrent requests are served through at most that many connections', async () => {
    const token = await tokenFor('pool-user');
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const held = async () =>
        (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows[0].n as number;
      // Separate HTTP connections, so the requests are in the server at once (one connection's
      // requests run one after another); the default pool (20) would open a connection for each.
      let done = false;
      const burst = Promise.all(
        Array.from({ length: 100 }, () =>
          fetch(`${server.url}/v1/conversations`, { headers: { authorization: `Bearer ${token}`, connection: 'close' } }).then((r) => r.status),
        ),
      ).finally(() => (done = true));
      // The most connections the instance held, watched while the requests run.
      let most = 0;
      while (!done) most = Math.max(most, await held());
      assert.deepEqual(new Set(await burst), new Set([200]));
      most = Math.max(most, await held());
      assert.ok(most >= 1 && most <= 3, `connections held by the instance: ${most}`);
    } finally {
      await admin.end();
    }
  });
});

/**
 * Connections stay open once made. node-postgres closes a connection left idle for 10 s by
 * default; under load a burst (clients connecting, the job queue's maintenance) opened a
 * dozen that ended together 10 s later, and ending or starting a backend is a burst of
 * PostgreSQL CPU: measured under `npm run bench`, the run's worst latency. The clock is
 * moved past those 10 s; a pool that closed its idle connections would serve the second
 * burst on new backends.
 */
test('the pool keeps the connections a burst opened, past the 10 s after which node-postgres would close them', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const db = await throwawayDatabase('parley_pool_keep');
  const pool = await openPostgres(db.url, { max: 5 }); // four for queries, one for sends
  try {
    // Four at once, each holding its connection a moment: the pool's four connections.
    const burst = async () =>
      new Set((await Promise.all(Array.from({ length: 4 }, () => pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)')))).map((r) => r[0]!.pid));
    const opened = await burst();
    assert.equal(opened.size, 4);
    t.mock.timers.tick(11_000);
    assert.deepEqual(await burst(), opened);
  } finally {
    await pool.close();
    await db.drop();
  }
});

/**
 * Of the pool's connections, one is the send batcher's own: sends commit while queries hold
 * every other one (a burst of slow reads, the job queue's maintenance), where they would wait
 * for a connection behind those queries, and with them every realtime send. With sends on
 * the shared pool this send waits for a connection until the pool's 5 s timeout fails it.
 */
test('a send commits while transactions hold every other connection of the pool', async () => {
  const database = await throwawayDatabase('parley_pool_sends');
  const store = createSqlStore(await openPostgres(database.url, { max: 3 }));
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  let release = () => {};
  const holding: Promise<unknown>[] = [];
  try {
    const db = await openPostgres(database.url, { max: 2 });
    try {
      await migrate(db);
      await seedGroups(db, 1, 2);
    } finally {
      await db.close();
    }
    const [{ id: conversationId }] = (await admin.query<{ id: string }>('SELECT id FROM conversations')).rows as [{ id: string }];
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Two transactions: every connection of the store's pool but the send batcher's.
    let began = 0;
    const allBegan = new Promise<void>((resolve) => {
      for (let k = 0; k < 2; k++)
        holding.push(
          store.transaction(async () => {
            if (++began === 2) resolve();
            await gate;
          }),
        );
    });
    await allBegan;
    const backends = async () =>
      (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows[0].n as number;
    assert.equal(await backends(), 3, 'the store holds its three connections: two in the transactions, one for sends');
    const outcome = await store.messages.send(plainMessage({ conversationId, senderId: 'u0', clientMsgId: 'while-held', body: 'hello' }));
    assert.deepEqual(outcome, { outcome: 'created', seq: 1 });
    assert.equal(began, 2);
    const stored = (await admin.query('SELECT body FROM messages WHERE client_msg_id = $1', ['while-held'])).rows;
    assert.deepEqual(stored, [{ body: 'hello' }]);
  } finally {
    release();
    await Promise.all(holding);
    await admin.end();
    await store.close();
    await database.drop();
  }
});
