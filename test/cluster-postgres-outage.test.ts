import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type Cluster, startCluster } from './helpers/cluster.ts';
import { countsOf, runLoad } from './helpers/cluster-load.ts';
import { waitFor } from './helpers/harness.ts';
import { type PrivatePostgres, startPrivatePostgres } from './helpers/private-postgres.ts';

const LONG = 300_000;

/**
 * Three Parley processes on a PostgreSQL of the test's own, taken down (immediate shutdown:
 * every connection cut) under load and brought back: sends during the outage fail with the
 * retryable `unavailable` and are never acknowledged, /ready says storage, the pools
 * reconnect by themselves, and every acknowledged message reaches every member in order.
 */
describe('PostgreSQL outage under a cluster', () => {
  let postgres: PrivatePostgres;
  let cluster: Cluster;
  before(async () => {
    postgres = await startPrivatePostgres();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('CREATE DATABASE parley');
    await admin.end();
    cluster = await startCluster({ databaseUrl: postgres.url.replace(/\/postgres$/, '/parley') });
  }, { timeout: LONG });
  after(async () => {
    for (const s of cluster?.instances ?? []) if (s && s.child.exitCode !== null) console.log(`instance exited ${s.child.exitCode}:\n${s.output().slice(-3000)}`);
    await cluster?.close();
    await postgres?.close();
  });

  test('sends fail with unavailable while it is down, pools recover, nothing acked is lost', { timeout: LONG }, async () => {
    let notReady: any = null;
    let backAt = 0;
    const result = await runLoad({
      urls: cluster.urls,
      clients: 90,
      rate: 60,
      seconds: 3,
      untilEventsDone: true,
      events: [
        {
          atMs: 1500,
          run: async () => {
            await postgres.stop();
            notReady = await waitFor(async () => {
              const res = await fetch(`${cluster.urls()[0]}/ready`);
              return res.status === 503 ? res.json() : null;
            }, 20_000, '/ready to say not ready');
            await new Promise((r) => setTimeout(r, 2000));
            await postgres.start();
            backAt = Date.now();
            // Until every instance answers again from its own pool.
            for (const url of cluster.urls()) await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, 30_000, `${url} ready again`);
            await new Promise((r) => setTimeout(r, 1500));
          },
        },
      ],
    });
    console.log(`postgres outage: ${countsOf(result)}`);
    assert.equal(notReady.error.code, 'not_ready');
    assert.ok(notReady.error.details.some((d: { path: string }) => d.path === 'storage'), JSON.stringify(notReady));
    assert.ok((result.failures.unavailable ?? 0) > 0, 'sends failed while storage was down');
    assert.deepEqual(Object.keys(result.failures).filter((code) => code !== 'unavailable'), [], 'only the retryable code');
    assert.ok(backAt > 0);
    assert.ok(result.sends.some((s) => s.sentAt >= backAt && s.ackedAt !== null), 'sends made once it was back were acked');
    assert.equal(result.lost, 0);
    assert.equal(result.gaps, 0);
    assert.ok(cluster.instances.every((s) => s && s.child.exitCode === null), 'no instance crashed');
  });
});
