import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openPostgres } from '../src/storage/db-pg.ts';
import { throwawayDatabase } from './helpers/backends.ts';
import { SECRET, tokenFor } from './helpers/harness.ts';
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
  const pool = await openPostgres(db.url, { max: 4 });
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
