import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { TalliedHistogram } from '../src/operations/tallied-histogram.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { counting, statements as count } from './helpers/counting-db.ts';
import { type Harness, harness, send, uid, waitFor } from './helpers/harness.ts';
import { checkMetrics } from './helpers/promlint.ts';
import { listen, wsClient } from './helpers/realtime.ts';

/**
 * GET /metrics passes what `promtool check metrics` checks: the text exposition format and
 * Prometheus' naming rules (test/helpers/promlint.ts implements both; promtool is not
 * installed here).
 */
describe('/metrics', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend);
    url = await listen(h);
  });
  after(() => h.close());

  test('the checker flags what promtool flags (so a pass means something)', () => {
    const bad = [
      '# HELP x_total A gauge named like a counter',
      '# TYPE x_total gauge',
      'x_total 1',
      '# TYPE requests counter',
      'requests 1',
      '# HELP latency_ms In milliseconds',
      '# TYPE latency_ms gauge',
      'latency_ms{camelLabel="a"} 1',
      '# HELP broken A sample that is not one',
      '# TYPE broken gauge',
      'broken{a="1} 2',
      '',
    ].join('\n');
    const problems = checkMetrics(bad);
    for (const expected of [
      'x_total: non-counter metrics should not have "_total" suffix',
      'requests: counter metrics should have "_total" suffix',
      'requests: no help text',
      'latency_ms: metric names should not contain abbreviated units',
      "latency_ms: label names should be written in 'snake_case' not 'camelCase'",
    ]) {
      assert.ok(problems.includes(expected), `${expected} in ${JSON.stringify(problems)}`);
    }
    assert.ok(problems.some((p) => p.startsWith('line 11:')), JSON.stringify(problems));
  });

  test('the exposition, with connections, events and deliveries in it, passes the format and naming rules', async () => {
    const ana = h.as(uid('ana'));
    const conversationId = await h.group(ana, []);
    const client = await wsClient(url, ana.userId);
    await send(ana, conversationId, 'counted');
    await client.next('message:new');
    const res = await h.app.http.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.deepEqual(checkMetrics(res.body), []);
    for (const family of [
      'parley_connections',
      'parley_events_total',
      'parley_deliveries_total',
      'parley_delivery_jobs',
      'parley_process_cpu_seconds_total',
      'parley_send_queue_seconds',
      'parley_send_statement_seconds',
      'parley_send_batch_messages',
    ]) {
      assert.match(res.body, new RegExp(`^# TYPE ${family} `, 'm'));
    }
    // From its commit to the socket, per gateway: the one message went out once, on /v1/ws.
    assert.match(res.body, /^parley_delivery_latency_seconds_count\{gateway="ws"\} 1$/m);
    await client.close();
  });

  test('a histogram counted in place writes cumulative buckets (a value on a bound counts in it), +Inf, sum and count per series', async () => {
    const registry = new Registry();
    const latency = new TalliedHistogram('x_latency_seconds', 'A test histogram', [0.001, 0.01, 0.1], 'gateway', registry);
    for (const v of [0.0005, 0.001, 0.05, 3]) latency.of('ws').observe(v);
    latency.of('socketio').observe(0.02);
    latency.of('socketio').observe(Number.NaN);
    const text = await registry.metrics();
    assert.deepEqual(checkMetrics(text), []);
    const lines = text.split('\n').filter((l) => l.startsWith('x_latency_seconds'));
    assert.deepEqual(lines, [
      'x_latency_seconds_bucket{gateway="ws",le="0.001"} 2',
      'x_latency_seconds_bucket{gateway="ws",le="0.01"} 2',
      'x_latency_seconds_bucket{gateway="ws",le="0.1"} 3',
      'x_latency_seconds_bucket{gateway="ws",le="+Inf"} 4',
      'x_latency_seconds_sum{gateway="ws"} 3.0515',
      'x_latency_seconds_count{gateway="ws"} 4',
      'x_latency_seconds_bucket{gateway="socketio",le="0.001"} 0',
      'x_latency_seconds_bucket{gateway="socketio",le="0.01"} 0',
      'x_latency_seconds_bucket{gateway="socketio",le="0.1"} 1',
      'x_latency_seconds_bucket{gateway="socketio",le="+Inf"} 1',
      'x_latency_seconds_sum{gateway="socketio"} 0.02',
      'x_latency_seconds_count{gateway="socketio"} 1',
    ]);
    // A reset zeroes the series its holders keep observing on.
    const ws = latency.of('ws');
    registry.resetMetrics();
    ws.observe(0.5);
    assert.match(await registry.metrics(), /^x_latency_seconds_count\{gateway="ws"\} 1$/m);
  });

  test('the send path: every message once in the queue wait, every batch statement once, its size summing to the messages', async () => {
    const ana = h.as(uid('ana'));
    const conversationId = await h.group(ana, []);
    const sample = async () => {
      const body = (await h.app.http.inject({ url: '/metrics' })).body;
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);
      return {
        queued: value('parley_send_queue_seconds_count'),
        statements: value('parley_send_statement_seconds_count'),
        batches: value('parley_send_batch_messages_count'),
        messages: value('parley_send_batch_messages_sum'),
      };
    };
    const before = await sample();
    await Promise.all(Array.from({ length: 6 }, (_, i) => send(ana, conversationId, `batched ${i}`)));
    const after = await sample();
    assert.equal(after.queued - before.queued, 6);
    assert.equal(after.messages - before.messages, 6);
    const statements = after.statements - before.statements;
    assert.ok(statements >= 1 && statements <= 6, `${statements} statements for 6 sends`);
    assert.equal(after.batches - before.batches, statements);
  });
});

describe('/metrics at every scrape', () => {
  test('reads the delivery queues, not the sample of online users and their conversations the operators\' status counts', async () => {
    const store = await pgliteBackend.openStore({ wrapDb: counting });
    const h = await harness({ store });
    try {
      const url = await listen(h);
      const ana = h.as(uid('ana'));
      await h.group(ana, []);
      const client = await wsClient(url, ana.userId);
      const admin = h.admin();
      // Ana online: the status has a user whose conversations it counts.
      await waitFor(async () => (await admin.get('/v1/admin/status')).body.onlineUsers === 1, 10_000, 'ana online');
      const during = async (request: () => Promise<unknown>) => {
        const list: string[] = [];
        await count.run(list, async () => await request());
        return list;
      };
      const status = await during(() => admin.get('/v1/admin/status'));
      assert.ok(status.some((s) => s.includes('conversation_members')), status.join('\n'));
      const scrape = await during(() => h.app.http.inject({ url: '/metrics' }));
      assert.deepEqual(scrape.filter((s) => s.includes('conversation_members')), [], scrape.join('\n'));
      await client.close();
    } finally {
      await h.app.delivery.drain();
      await h.close();
      await store.close();
    }
  });
});
