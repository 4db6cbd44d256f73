// The group runs: BENCH_CLIENTS clients in groups of BENCH_GROUP, a share of them sending,
// against the bare ws relay (the ceiling) and Parley (embedded or PostgreSQL, per gateway).
import { type BenchClient, connectAll, socketIoClient, wsClient } from './clients.ts';
import type { Gateway, Knobs } from './knobs.ts';
import { type LoadResult, loadGenerator, type Member } from './load.ts';
import { type BenchDatabase, type DbCounters, deltaOf, openBenchDatabase } from './postgres.ts';
import { cpuMeter, type KernelCounts, kernelMeter, machineBusy, rssMb, rssPeak } from './proc.ts';
import type { BenchRun, RunContext } from './registry.ts';
import { adminCall, createGroup, deliveryIdle, type ServerProcess, startParley, startRelay, startSocketIoRelay, tokenFor } from './server.ts';
import { benchFcm } from './fcm.ts';
import { type SendPath, sendPathLine, sendPathSnapshot } from './send-path.ts';
import { STALL_MS, type Stalls, watchStalls } from './stall-probe.ts';
import { cpuLine, dbLine, fmt, kernelLine, type Point, rssLine } from './stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a group run measures: a server, how to lay out its groups and connect to it. */
export interface Target {
  server: ServerProcess;
  /** Every process whose CPU counts as the server's (a cluster's instances and Redis); default: `server`. */
  pids?(): number[];
  db: BenchDatabase | null;
  /** Conversation ids for groups of user ids. */
  groups(groups: string[][]): Promise<string[]>;
  connect(userId: string, conversationId: string): Promise<BenchClient>;
  /** Registers a push device for a user (Parley only). */
  device?(userId: string): Promise<void>;
  /** Resolves once setup's background work is done. */
  settled(): Promise<void>;
  /** The send path's totals from the server's /metrics (Parley only). */
  sendPath?(): Promise<SendPath | null>;
  close(): Promise<void>;
}

function describeRefused(refused: Record<string, number>) {
  const entries = Object.entries(refused);
  return entries.length ? entries.map(([code, n]) => `${code} ${n}`).join(', ') : '0';
}

/** System calls and context switches of the server and of PostgreSQL under the load. */
type KernelFigures = { server: KernelCounts; pg: KernelCounts | null };

/** Measures one rate: the load, CPU of the server and of PostgreSQL, database counters, peak RSS. */
async function measure(target: Target, step: (meter: { start(): Promise<void>; stop(): Promise<void> }) => Promise<LoadResult>) {
  const server = cpuMeter(() => target.pids?.() ?? [target.server.pid]);
  const pg = target.db ? cpuMeter(() => target.db!.pids()) : null;
  const serverKernel = kernelMeter(() => target.pids?.() ?? [target.server.pid]);
  const pgKernel = target.db ? kernelMeter(() => target.db!.pids()) : null;
  let kernel: KernelFigures | null = null;
  // The load generator shares the cores with the server: what it takes is what the server could not have.
  const generator = cpuMeter(() => [process.pid]);
  const busy = machineBusy();
  let generatorSeconds = 0;
  // The generator's one thread timestamps every send and delivery: near 100% busy, its own
  // queueing is in the latencies, whatever the server does.
  let loopBefore = performance.eventLoopUtilization();
  let generatorLoop = 0;
  let machine = { busy: 0, stolen: 0 };
  let before: DbCounters | null = null;
  let db: DbCounters | null = null;
  let serverSeconds: number | null = null;
  let serverSystemSeconds: number | null = null;
  let pgSeconds: number | null = null;
  let stopPeak = () => 0;
  let probe: ReturnType<typeof watchStalls> | null = null;
  let stalls: Stalls = { count: 0, longestMs: 0 };
  let sendBefore: SendPath | null = null;
  let sendPath: string | null = null;
  const load = await step({
    async start() {
      await target.db?.resetStatements();
      sendBefore = (await target.sendPath?.()) ?? null;
      before = (await target.db?.counters()) ?? null;
      await Promise.all([server.start(), pg?.start(), generator.start(), serverKernel.start(), pgKernel?.start()]);
      busy.start();
      loopBefore = performance.eventLoopUtilization();
      stopPeak = rssPeak(target.server.pid);
      probe = watchStalls();
    },
    async stop() {
      machine = busy.stop();
      generatorLoop = performance.eventLoopUtilization(loopBefore).utilization;
      const [split, pgTotal, seen, gen, serverCalls, pgCalls] = await Promise.all([
        server.split(),
        pg?.stop() ?? null,
        probe!.stop(),
        generator.stop(),
        serverKernel.stop(),
        pgKernel?.stop() ?? null,
      ]);
      kernel = { server: serverCalls, pg: pgCalls };
      generatorSeconds = gen;
      stalls = seen;
      serverSeconds = split.user + split.system;
      serverSystemSeconds = split.system;
      pgSeconds = pgTotal;
      sendPath = sendPathLine(sendBefore, (await target.sendPath?.()) ?? null);
      // Backends report their counters about once a second.
      if (before) await sleep(1200);
      db = before && target.db ? deltaOf(before, await target.db.counters()) : null;
    },
  });
  return { load, serverSeconds, serverSystemSeconds, pgSeconds, generatorSeconds, generatorLoop, machine, db: db as DbCounters | null, sendPath, peak: stopPeak(), stalls, kernel: kernel as KernelFigures | null };
}

const sustainable = (r: LoadResult, p99LimitMs: number) => r.lost === 0 && Object.keys(r.refused).length === 0 && r.latency.p99 <= p99LimitMs;

export async function groupRun(name: string, ctx: RunContext, open: () => Promise<Target>) {
  const { knobs: k } = ctx;
  const target = await open();
  try {
    await sleep(2000);
    const idle = rssMb(target.server.pid);
    const users = Array.from({ length: k.clients }, (_, i) => `bench-${i}`);
    const layout: string[][] = [];
    for (let i = 0; i < users.length; i += k.group) layout.push(users.slice(i, i + k.group));
    // Members who never connect (BENCH_OFFLINE) are in the groups only: the notification work they make is measured.
    const offline = layout.map((_, i) => Array.from({ length: k.offline }, (_, j) => `bench-offline-${i}-${j}`));
    const conversations = await target.groups(layout.map((g, i) => [...g, ...offline[i]!]));
    if (k.offlineDevices !== 'none' && target.device) for (const user of offline.flat()) await target.device(user);
    // The first `senders` share of each group sends.
    const sendersPerGroup = Math.max(1, Math.round(k.group * k.senders));
    const clients = await connectAll(k.clients, (i) => target.connect(users[i]!, conversations[Math.floor(i / k.group)]!));
    const members: Member[] = clients.map((client, i) => ({ client, conversationId: conversations[Math.floor(i / k.group)]!, sender: i % k.group < sendersPerGroup }));
    await target.settled();
    const connected = rssMb(target.server.pid);
    const gen = loadGenerator(members, { groupSize: k.group, bodyBytes: k.bodyBytes, warmupSeconds: k.warmupSeconds, seconds: k.seconds });
    let peak = 0;

    const report = async (rate: number, key: string): Promise<{ r: LoadResult; point: Point }> => {
      const m = await measure(target, (meter) => gen.step(rate, meter));
      peak = Math.max(peak, m.peak);
      const r = m.load;
      const perSec = r.delivered / r.seconds;
      const relay = ctx.relayAt(key);
      ctx.print(
        `${name} at ${rate} msg/s: ${fmt(perSec, 0)} deliveries/s${relay ? ` (${fmt(perSec / relay.deliveriesPerSec, 2)} of the relay)` : ''}, latency ms p50 ${fmt(r.latency.p50)} p95 ${fmt(r.latency.p95)} p99 ${fmt(r.latency.p99)} max ${fmt(r.latency.max)}`,
      );
      ctx.print(
        `  sent ${r.sent}, acked ${r.acked}, refused ${describeRefused(r.refused)}; deliveries expected ${r.expected}, delivered ${r.delivered}, lost ${r.lost}, duplicates ${r.duplicates}`,
      );
      ctx.print(`  out of order: per conversation ${r.outOfOrderConversation}, per sender ${r.outOfOrderSender}, seqs taken out of send order ${r.seqsOutOfSendOrder}`);
      ctx.print(
        `  machine stalls (an idle probe thread's timer ${STALL_MS} ms or more late: no thread got a turn): ${m.stalls.count}` +
          (m.stalls.count ? `, longest ${fmt(m.stalls.longestMs, 0)} ms; one such stall can move p99 on its own` : ''),
      );
      // Only where something is missing: the relay's seqs are not per conversation, so its "gaps" mean nothing.
      if (r.lost || r.dropped || r.syncRequired) {
        ctx.print(
          `  recoverable by sync: seq gaps seen ${r.gaps}, connections dropped by the server ${r.dropped}, sync:required received ${r.syncRequired} (bench clients do not sync, so what these missed counts as lost)`,
        );
      }
      ctx.print(cpuLine(m, r.delivered, relay?.serverUsPerDelivery ?? null));
      if (m.kernel) ctx.print(kernelLine(m.kernel.server, m.kernel.pg, r.delivered));
      ctx.print(
        `  load generator (the bench's own process, on the same cores): ${r.delivered ? fmt((m.generatorSeconds * 1e6) / r.delivered) : '-'} µs per delivery, its thread ${fmt(m.generatorLoop * 100, 0)}% busy (where it times sends and deliveries); the machine's cores ${fmt(m.machine.busy * 100, 0)}% busy (${fmt(m.machine.stolen * 100, 0)}% of the time stolen by the host: the virtual cores waiting for a physical one)`,
      );
      const dbl = dbLine(m.db, r.acked);
      if (dbl) ctx.print(dbl);
      if (m.sendPath) ctx.print(m.sendPath);
      const us = (s: number | null) => (s === null || r.delivered === 0 ? null : (s * 1e6) / r.delivered);
      const point: Point = {
        run: name,
        key,
        rate: key === 'find' ? `max ${rate}` : rate,
        deliveriesPerSec: perSec,
        p50: r.latency.p50,
        p99: r.latency.p99,
        lost: r.lost,
        duplicates: r.duplicates,
        outOfOrder: `${r.outOfOrderConversation}/${r.outOfOrderSender}/${r.seqsOutOfSendOrder}`,
        serverUsPerDelivery: us(m.serverSeconds),
        pgUsPerDelivery: us(m.pgSeconds),
        rssIdleMb: idle,
        stalls: m.stalls,
        stolen: m.machine.stolen,
        generatorBusy: m.generatorLoop,
      };
      return { r, point };
    };

    const points: Point[] = [];
    for (const key of k.rates) {
      if (key !== 'find') {
        points.push((await report(Number(key), key)).point);
        continue;
      }
      // The highest rate kept up with: up by half while it holds, then halve the gap.
      let lo = 0;
      let hi = Number.POSITIVE_INFINITY;
      let rate = 500;
      let best: Point | null = null;
      for (let i = 0; i < k.findSteps; i++) {
        const { r, point } = await report(rate, 'find');
        if (sustainable(r, k.p99LimitMs)) {
          lo = rate;
          best = point;
        } else hi = rate;
        rate = Number.isFinite(hi) ? Math.round((lo + hi) / 2) : Math.round(rate * 1.5);
        if (Number.isFinite(hi) && hi - lo < Math.max(50, lo * 0.05)) break;
      }
      // Every rate tried was kept up with: the highest is a lower bound, not the ceiling.
      if (best && !Number.isFinite(hi)) {
        best.rate = `at least ${lo}`;
        ctx.print(`  ${name}: every rate tried was kept up with; the ceiling is above ${lo} msg/s (raise BENCH_FIND_STEPS)`);
      }
      if (best) points.push(best);
    }

    for (const c of clients) c.close();
    await sleep(1000);
    const after = rssMb(target.server.pid);
    await sleep(k.settleSeconds * 1000);
    const settled = rssMb(target.server.pid);
    ctx.print(rssLine({ idle, connected, peak, after, settled, settleSeconds: k.settleSeconds }));
    for (const p of points) ctx.point({ ...p, rssSettledMb: settled });
    if (target.db && k.statements) {
      const top = await target.db.topStatements(k.statements);
      if (top.length) ctx.print(`  top statements (pg_stat_statements, last rate):`);
      for (const s of top) ctx.print(`    ${fmt(s.totalMs, 0)} ms (planning ${fmt(s.planMs, 0)})  ${s.calls} calls (longest ${fmt(s.maxMs, 1)} ms)  ${s.rows} rows  ${s.query.slice(0, 160)}`);
    }
  } finally {
    await target.close();
  }
}

/**
 * The bare ws relay, memory only (`relay`: the ceiling), or committing every message to
 * PostgreSQL before it delivers or acks it (`durable-relay`): what a durable design costs at
 * least here, so Parley's figures read against both.
 */
function relayRun(durable: boolean): BenchRun {
  const name = durable ? 'durable-relay' : 'relay';
  return {
    name,
    what: durable
      ? 'the relay, delivering and acking each message after its COMMIT to PostgreSQL (group commit, one table, one index): the floor of a durable design'
      : 'bare ws relay, memory only: the ceiling',
    applies: (k) => !durable || k.databaseUrl !== null,
    run: (ctx) =>
      groupRun(name, ctx, async () => {
        const db = durable ? await openBenchDatabase(ctx.knobs.databaseUrl!) : null;
        let server: ServerProcess;
        try {
          server = await startRelay(db?.url);
        } catch (err) {
          await db?.close();
          throw err;
        }
        return {
          server,
          db,
          groups: async (groups) => groups.map((_, i) => `room-${i}`),
          connect: (_user, room) => wsClient(server.url, `room=${room}`),
          settled: async () => {},
          async close() {
            await server.stop();
            await db?.close();
          },
        };
      }),
  };
}

/**
 * Bare Socket.IO rooms, memory only, with the same Socket.IO clients as Parley's Socket.IO
 * runs: what the protocol and its client library cost here. Its ratios are to the ws relay
 * like every run's; Parley's Socket.IO figures read against both.
 */
const socketIoRelayRun: BenchRun = {
  name: 'socketio-relay',
  what: 'bare Socket.IO rooms (the library\'s defaults), memory only: the ceiling of Socket.IO itself',
  applies: (k) => k.gateways.includes('socketio'),
  run: (ctx) =>
    groupRun('socketio-relay', ctx, async () => {
      const server = await startSocketIoRelay();
      return {
        server,
        db: null,
        groups: async (groups) => groups.map((_, i) => `room-${i}`),
        // The room goes where Parley takes a token (socketio-relay-server.ts).
        connect: (_user, room) => socketIoClient(server.url, room),
        settled: async () => {},
        close: () => server.stop(),
      };
    }),
};

/** How a run connects one member to Parley (GraphQL's runs bring theirs: bench/graphql.ts). */
export type Connect = (url: string, userId: string, conversationId: string) => Promise<BenchClient>;
const viaSessionGateway = (gateway: Gateway): Connect => async (url, user) =>
  gateway === 'ws' ? wsClient(url, `token=${await tokenFor(user)}`) : socketIoClient(url, await tokenFor(user));
const LABELS: Record<Gateway, string> = { socketio: 'Socket.IO', ws: '/v1/ws', graphql: 'GraphQL (a messageAdded subscription, sendMessage over the same graphql-ws socket)' };

export function parleyRun(store: 'embedded' | 'postgres', gateway: Gateway, connect: Connect = viaSessionGateway(gateway)): BenchRun {
  const name = `${store}:${gateway}`;
  return {
    name,
    what: `Parley ${store === 'embedded' ? 'embedded (PGlite)' : 'on PostgreSQL'}, ${LABELS[gateway]}`,
    applies: (k: Knobs) => k.gateways.includes(gateway) && (store === 'embedded' || k.databaseUrl !== null),
    run: (ctx) =>
      groupRun(name, ctx, async () => {
        const db = store === 'postgres' ? await openBenchDatabase(ctx.knobs.databaseUrl!) : null;
        const fcm = ctx.knobs.offlineDevices === 'served' ? await benchFcm() : null;
        let server: ServerProcess;
        try {
          server = await startParley(name.replace(':', '-'), db?.url ?? null, fcm?.env ?? {});
        } catch (err) {
          await db?.close();
          await fcm?.close();
          throw err;
        }
        return {
          server,
          db,
          groups: (groups) => Promise.all(groups.map((g) => createGroup(server.url, g))),
          connect: (user, conversationId) => connect(server.url, user, conversationId),
          device: (user) => adminCall(server.url, 'POST', '/v1/me/devices', user, { platform: 'fcm', token: `bench-${user}` }).then(() => undefined),
          settled: () => deliveryIdle(server.url),
          sendPath: () => sendPathSnapshot(server.url),
          async close() {
            await server.stop();
            await db?.close();
            await fcm?.close();
          },
        };
      }),
  };
}

export const groupRuns: BenchRun[] = [
  relayRun(false),
  relayRun(true),
  socketIoRelayRun,
  parleyRun('embedded', 'socketio'),
  parleyRun('embedded', 'ws'),
  parleyRun('postgres', 'socketio'),
  parleyRun('postgres', 'ws'),
];
