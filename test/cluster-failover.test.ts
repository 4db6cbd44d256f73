import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Cluster, startCluster } from './helpers/cluster.ts';
import { countsOf, runLoad } from './helpers/cluster-load.ts';
import { waitFor } from './helpers/harness.ts';

/**
 * Three Parley processes on PostgreSQL and a private redis-server, under steady load (200
 * clients over both gateways and every instance, 100 messages a second in all): Redis cut
 * for 10 s, one instance killed with SIGKILL, then a rolling restart of all three. Each
 * time, every acknowledged message reaches every member exactly once and in order.
 */
/** Starting Parley processes on a busy 2-core machine can take a while: deadlines, not windows. */
const LONG = 300_000;

describe('cluster under load', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ env: { PARLEY_SHUTDOWN_TIMEOUT_MS: '8000' } });
  }, { timeout: LONG });
  after(() => cluster?.close());

  const metric = async (url: string, name: string) => {
    const body = await (await fetch(`${url}/metrics`)).text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
    return m ? Number(m[1]) : Number.NaN;
  };
  const ready = async (url: string) => {
    const res = await fetch(`${url}/ready`);
    return { code: res.status, body: (await res.json()) as any };
  };
  // A run's counts are printed and carried by its assertions (a failure then says what the run saw).
  const print = (what: string, r: Awaited<ReturnType<typeof runLoad>>, extra?: Record<string, unknown>) => console.log(`${what}: ${countsOf(r, extra)}`);

  test('Redis down for 10 s under load: every instance keeps acking, /ready says degraded and why, gaps close by sync, memory stays bounded', { timeout: LONG }, async () => {
    const urls = cluster.urls();
    const rssBefore = await Promise.all(urls.map((u) => metric(u, 'parley_process_resident_memory_bytes')));
    let down = { from: 0, to: 0 };
    let degraded: { code: number; body: any }[] = [];
    const result = await runLoad({
      urls: cluster.urls,
      seconds: 14,
      events: [
        {
          atMs: 1500,
          run: async () => {
            await cluster.redis.kill();
            const from = Date.now();
            degraded = (await waitFor(async () => {
              const all = await Promise.all(urls.map(ready));
              return all.every((r) => r.body.status === 'degraded') ? all : null;
            }, 8000, 'every instance to report degraded'))!;
            await new Promise((r) => setTimeout(r, Math.max(0, from + 10_000 - Date.now())));
            down = { from, to: Date.now() };
            await cluster.redis.start();
          },
        },
      ],
    });
    print('redis outage', result);
    for (const r of degraded) {
      assert.equal(r.code, 200);
      assert.ok(r.body.reasons.some((x: string) => x.startsWith('redis:')), JSON.stringify(r.body));
    }
    // Acks went on while Redis was away: on every instance, most sends made in the outage's
    // first half (each then had 5 s or more) were acked before Redis was back. An instance
    // holding sends until Redis returns acks none of them in time.
    const half = down.from + (down.to - down.from) / 2;
    for (const u of urls) {
      const early = result.sends.filter((s) => s.url === u && s.sentAt >= down.from && s.sentAt < half);
      const inTime = early.filter((s) => s.ackedAt !== null && s.ackedAt < down.to).length;
      assert.ok(early.length > 0 && inTime > early.length / 2, `${u}: ${inTime} of the ${early.length} sends of the outage's first half acked while Redis was down`);
    }
    assert.equal(result.lost, 0, countsOf(result));
    assert.equal(result.gaps, 0, countsOf(result));
    assert.ok(result.syncRequired > 0, 'clients were told to sync after the gap');
    assert.ok(down.to > down.from, 'the outage ran its course');
    for (const u of urls) {
      await waitFor(async () => (await ready(u)).body.status === 'ready', 10_000, `${u} ready again`);
      assert.ok((await metric(u, 'parley_bus_resyncs_total')) >= 1);
    }
    const rssAfter = await Promise.all(urls.map((u) => metric(u, 'parley_process_resident_memory_bytes')));
    for (const [i, rss] of rssAfter.entries()) assert.ok(rss < rssBefore[i]! + 200 * 1024 * 1024, `instance ${i} RSS ${rssBefore[i]} -> ${rss}`);
    assert.ok(cluster.instances.every((s) => s && s.child.exitCode === null), 'no instance crashed');
  });

  test('kill -9 of one instance under load: its clients reconnect to the others with backoff and sync; nothing acked is lost', { timeout: LONG }, async () => {
    const result = await runLoad({ urls: cluster.urls, seconds: 6, events: [{ atMs: 2000, run: () => cluster.kill(1) }] }).finally(() => cluster.start(1));
    print('kill -9', result);
    assert.ok(result.reconnects >= 60, `clients of the killed instance reconnected (${result.reconnects})`);
    assert.ok(result.clients.every((c) => c.url() !== null));
    assert.equal(result.lost, 0, countsOf(result));
    assert.equal(result.gaps, 0, countsOf(result));
    assert.ok(result.acked > 200);
  });

  test('rolling replacement under load: three new instances come up, the old ones get SIGTERM one at a time and exit in time; nothing acked is lost', { timeout: LONG }, async () => {
    const stops: { code: number | null; ms: number; output: string }[] = [];
    const roll = async () => {
      const old = [0, 1, 2];
      // New instances first (a deployment with surge), so the clients always have somewhere to go.
      const t0 = Date.now();
      await Promise.all(old.map((slot) => cluster.start(slot + 3)));
      console.log(`rolling replacement: new instances up after ${Date.now() - t0} ms`);
      for (const slot of old) {
        stops.push(await cluster.stop(slot));
        console.log(`rolling replacement: old instance ${slot} stopped after ${Date.now() - t0} ms`);
      }
    };
    // The load goes on until the last old instance has exited.
    const result = await runLoad({ urls: cluster.urls, seconds: 2, untilEventsDone: true, events: [{ atMs: 1000, run: roll }] });
    print('rolling replacement', result, { stops: stops.map(({ code, ms }) => ({ code, ms })) });
    // Exit 0: drained before the server's own PARLEY_SHUTDOWN_TIMEOUT_MS timer (which exits 1).
    for (const s of stops) assert.equal(s.code, 0, `a graceful exit (${s.ms} ms seen from here); it printed:\n${s.output}`);
    const newUrls = cluster.urls();
    assert.ok(result.clients.every((c) => newUrls.includes(c.url()!)), 'every client ended on a new instance');
    assert.equal(result.lost, 0, countsOf(result));
    assert.equal(result.gaps, 0, countsOf(result));
  });
});
