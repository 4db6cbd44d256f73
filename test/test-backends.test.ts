import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PG_URL, skippedPostgres } from './helpers/backends.ts';

/** A port where nothing listens: connections are refused at once. */
async function deadPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The helper module afresh (its PostgreSQL probe runs on import), with `env` in place meanwhile. */
async function importBackends(env: Record<string, string | undefined>, tag: string) {
  const saved = { CI: process.env.CI, PARLEY_TEST_DATABASE_URL: process.env.PARLEY_TEST_DATABASE_URL };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    return await import(`./helpers/backends.ts?${tag}`);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * Issue 8 §7: the PostgreSQL suites never skip by accident. A slow PostgreSQL (a busy
 * machine) is waited for; an unreachable one fails the file loudly in CI or when
 * PARLEY_TEST_DATABASE_URL names it.
 */
describe('the test suites find PostgreSQL or say loudly why not', () => {
  let proxy: net.Server;
  let slowUrl = '';
  before(async () => {
    // Accepts at once, then stalls 4 s before relaying to the real server: a loaded machine.
    const target = new URL(PG_URL);
    proxy = net.createServer((client) => {
      client.pause();
      setTimeout(() => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        client.pipe(upstream).pipe(client);
        client.resume();
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      }, 4000);
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(undefined)));
    const url = new URL(PG_URL);
    url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    slowUrl = url.toString();
  });
  after(() => new Promise((resolve) => proxy.close(resolve)));

  test('a PostgreSQL that takes 4 s to answer is still used', { skip: skippedPostgres ?? false }, async () => {
    const m = await importBackends({ CI: undefined, PARLEY_TEST_DATABASE_URL: slowUrl }, 'slow');
    assert.equal(m.skippedPostgres, null);
    assert.deepEqual(m.backends.map((b: { name: string }) => b.name), ['pglite', 'postgres']);
  });

  test('unreachable in CI: the file fails, naming the URL', async () => {
    const url = `postgres://postgres@127.0.0.1:${await deadPort()}/test`;
    await assert.rejects(importBackends({ CI: 'true', PARLEY_TEST_DATABASE_URL: url }, 'ci'), /PostgreSQL is required .*not reachable/);
  });

  test('unreachable when PARLEY_TEST_DATABASE_URL names it: the file fails, even outside CI', async () => {
    const url = `postgres://postgres@127.0.0.1:${await deadPort()}/test`;
    await assert.rejects(importBackends({ CI: undefined, PARLEY_TEST_DATABASE_URL: url }, 'named'), /PostgreSQL is required .*not reachable/);
  });
});
