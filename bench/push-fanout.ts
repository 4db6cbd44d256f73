// Pushes to a large group's offline members: one group of N members, N - 1 of them never
// connected and each with an FCM device (or Expo, BENCH_PUSH_PLATFORM=expo), served by a
// local server speaking that provider's protocol (bench/fcm.ts, bench/expo.ts). One message
// makes N - 1 push jobs (one per member and conversation), and each of those a device job:
// 2 (N - 1) jobs through the job queue at once. What counts is the time from the send to the
// last push the provider's server receives, and what the pushes cost the server and
// PostgreSQL. The server's coalescing window is 0 here, so the time is the pipeline's own
// (in production a push waits PARLEY_PUSH_COALESCE_MS first).
import { performance } from 'node:perf_hooks';
import { benchExpo } from './expo.ts';
import { benchFcm } from './fcm.ts';
import { knobs } from './knobs.ts';
import { openBenchDatabase } from './postgres.ts';
import { cpuMeter } from './proc.ts';
import type { BenchRun, RunContext } from './registry.ts';
import { adminCall, createGroup, deliveryIdle, startParley } from './server.ts';
import { fmt, int, percentiles } from './stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PUSH_DEADLINE_MS = 600_000;
const POLL_MS = 20;
const BODY = 'to everyone offline';
const PROBE_EVERY_MS = 100;

/**
 * Chat beside the pushes: one member of a conversation of two sends a message every 100 ms
 * over REST (answered once committed) until `stop` resolves; answers each round trip (ms).
 * The job queue's work shares the database with sends: a storm of pushes must not hold chat up.
 */
async function chatProbe(url: string, conversationId: string, stop: Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  let done = false;
  void stop.then(() => {
    done = true;
  });
  for (let n = 0; !done; n++) {
    const t0 = performance.now();
    await adminCall(url, 'POST', `/v1/conversations/${conversationId}/messages`, 'chat-a', { clientMsgId: `probe-${n}-${t0}`, body: 'meanwhile' });
    times.push(performance.now() - t0);
    await sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - t0)));
  }
  return times;
}

async function pushFanout(ctx: RunContext, size: number) {
  const k = ctx.knobs;
  const db = k.databaseUrl ? await openBenchDatabase(k.databaseUrl) : null;
  const platform = k.pushPlatform;
  const provider = platform === 'expo' ? await benchExpo() : await benchFcm();
  try {
    const server = await startParley(`pushes-${size}`, db?.url ?? null, { ...provider.env, PARLEY_PUSH_COALESCE_MS: '0' });
    try {
      const users = Array.from({ length: size }, (_, i) => `push-${i}`);
      const id = await createGroup(server.url, users);
      // The invitations go first, before anyone has a device: they are not what is measured.
      await deliveryIdle(server.url);
      const offline = users.slice(1);
      for (let i = 0; i < offline.length; i += 20) {
        await Promise.all(offline.slice(i, i + 20).map((u) => adminCall(server.url, 'POST', '/v1/me/devices', u, { platform, token: provider.token(u) })));
      }
      const chat = await createGroup(server.url, ['chat-a', 'chat-b']);
      const idle = await chatProbe(server.url, chat, sleep(2000));
      const serverCpu = cpuMeter(() => [server.pid]);
      const pgCpu = cpuMeter(() => db?.pids() ?? []);
      await db?.resetStatements();
      await serverCpu.start();
      await pgCpu.start();
      // Counted by the message's text: a late invitation push (a member's device registered
      // before their invitation was pushed) is not the message's.
      const received = provider.counter(BODY);
      const requestsBefore = provider.requests();
      const sentAt = performance.now();
      await adminCall(server.url, 'POST', `/v1/conversations/${id}/messages`, users[0]!, { clientMsgId: 'push-fanout', body: BODY });
      // Arrival times at the poll's grain: each poll stamps the pushes that came since the last.
      const arrivals: number[] = [];
      const deadline = sentAt + PUSH_DEADLINE_MS;
      let drained: () => void = () => {};
      const meanwhile = chatProbe(server.url, chat, new Promise<void>((resolve) => (drained = resolve)));
      while (arrivals.length < offline.length && performance.now() < deadline) {
        await sleep(POLL_MS);
        const now = performance.now();
        for (let n = received() - arrivals.length; n > 0; n--) arrivals.push(now - sentAt);
      }
      drained();
      const requests = provider.requests() - requestsBefore;
      const during = percentiles(await meanwhile);
      const before = percentiles(idle);
      const serverSplit = await serverCpu.split();
      const serverS = serverSplit.user + serverSplit.system;
      const pgS = db ? await pgCpu.stop() : null;
      const p = percentiles(arrivals);
      const perPush = (s: number | null) => (s === null || arrivals.length === 0 ? null : (s * 1e6) / arrivals.length);
      const lastS = (arrivals.at(-1) ?? Number.NaN) / 1000;
      ctx.print(
        `pushes:${size} (${db ? 'PostgreSQL' : 'embedded'}, ${platform}): one message to ${offline.length} offline members with a device: ${int(arrivals.length)} pushes received in ${int(requests)} requests` +
          `${arrivals.length < offline.length ? ` (stopped after ${PUSH_DEADLINE_MS / 1000} s)` : ''}; send → push ms p50 ${fmt(p.p50)} p99 ${fmt(p.p99)} last ${fmt(p.max)}` +
          ` (${int(arrivals.length / lastS)} pushes/s); CPU per push: server ${fmt(perPush(serverS))} µs (${fmt(perPush(serverSplit.system))} in the kernel)${db ? `, PostgreSQL ${fmt(perPush(pgS))} µs` : ', PGlite included'}`,
      );
      ctx.print(
        `  a chat message sent every ${PROBE_EVERY_MS} ms over REST, send → answer ms: before the pushes p50 ${fmt(before.p50)} p99 ${fmt(before.p99)}; while they went out p50 ${fmt(during.p50)} p99 ${fmt(during.p99)} max ${fmt(during.max)}`,
      );
      const top = db ? await db.topStatements(k.statements) : [];
      if (top.length) ctx.print('  top statements (pg_stat_statements):');
      for (const s of top) {
        ctx.print(`    ${fmt(s.totalMs)} ms (planning ${fmt(s.planMs)}), ${int(s.calls)} calls, max ${fmt(s.maxMs)} ms: ${s.query.slice(0, 110)}`);
      }
      ctx.point({
        run: `pushes:${size}`,
        key: 'pushes',
        rate: `1 msg to ${offline.length} offline`,
        deliveriesPerSec: arrivals.length / lastS,
        p50: p.p50,
        p99: p.p99,
        lost: offline.length - arrivals.length,
        duplicates: 0,
        outOfOrder: '-',
        serverUsPerDelivery: perPush(serverS),
        pgUsPerDelivery: perPush(pgS),
      });
      await deliveryIdle(server.url);
    } finally {
      await server.stop();
    }
  } finally {
    await provider.close();
    await db?.close();
  }
}

export const pushFanoutRuns: BenchRun[] = knobs.pushFanoutSizes.map((size) => ({
  name: `pushes:${size}`,
  what: `one group of ${size} members, all but the sender offline with a push device: send to the last push`,
  applies: () => true,
  run: (ctx) => pushFanout(ctx, size),
}));
