// The group runs: BENCH_CLIENTS clients in groups of BENCH_GROUP, a share of them sending,
// against the bare ws relay (the ceiling) and Parley (embedded or PostgreSQL, per gateway).
import { type BenchClient, connectAll, socketIoClient, wsClient } from './clients.ts';
import type { Gateway, Knobs } from './knobs.ts';
import { type LoadResult, loadGenerator, type Member } from './load.ts';
import { type BenchDatabase, type DbCounters, deltaOf, openBenchDatabase } from './postgres.ts';
import { cpuMeter, helperThreadsMeter, type KernelCounts, kernelMeter, machineBusy, rssMb, rssPeak } from './proc.ts';
import type { BenchRun, RunContext } from './registry.ts';
import { adminCall, createGroup, deliveryIdle, type ServerProcess, startParley, startRelay, startSocketIoRelay, tokenFor } from './server.ts';
import { benchFcm } from './fcm.ts';
import { type SendPath, sendPathLine, sendPathSnapshot } from './send-path.ts';
import { STALL_MS, type Stalls, watchStalls } from './stall-probe.ts';
import { baselineLabel, cpuLine, dbLine, fmt, kernelLine, type Point, rssLine, sideBySideLine } from './stats.ts';

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
  const serverPids = () => target.pids?.() ?? [target.server.pid];
  const server = cpuMeter(serverPids);
  const pg = target.db ? cpuMeter(() => target.db!.pids()) : null;
  const serverKernel = kernelMeter(serverPids);
  const serverHelpers = helperThreadsMeter(serverPids);
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
  let serverHelperSeconds: number | null = null;
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
      await Promise.all([server.start(), pg?.start(), generator.start(), serverKernel.start(), pgKernel?.start(), serverHelpers.start()]);
      busy.start();
      loopBefore = performance.eventLoopUtilization();
      stopPeak = rssPeak(target.server.pid);
      probe = watchStalls();
    },
    async stop() {
      machine = busy.stop();
      generatorLoop = performance.eventLoopUtilization(loopBefore).utilization;
      const [split, pgTotal, seen, gen, serverCalls, pgCalls, helpers] = await Promise.all([
        server.split(),
        pg?.stop() ?? null,
        probe!.stop(),
        generator.stop(),
        serverKernel.stop(),
        pgKernel?.stop() ?? null,
        serverHelpers.stop(),
      ]);
      kernel = { server: serverCalls, pg: pgCalls };
      generatorSeconds = gen;
      stalls = seen;
      serverSeconds = split.user + split.system;
      serverSystemSeconds = split.system;
      serverHelperSeconds = helpers;
      pgSeconds = pgTotal;
      sendPath = sendPathLine(sendBefore, (await target.sendPath?.()) ?? null);
      // Backends report their counters about once a second.
      if (before) await sleep(1200);
      db = before && target.db ? deltaOf(before, await target.db.counters()) : null;
    },
  });
  return { load, serverSeconds, serverSystemSeconds, serverHelperSeconds, pgSeconds, generatorSeconds, generatorLoop, machine, db: db as DbCounters | null, sendPath, peak: stopPeak(), stalls, kernel: kernel as KernelFigures | null };
}

const sustainable = (r: LoadResult, p99LimitMs: number) => r.lost === 0 && Object.keys(r.refused).length === 0 && r.latency.p99 <= p99LimitMs;

/** A target set up for the load: its clients connected, the load generator wired to them. */
interface Loaded {
  /** The run's name as printed and in the summary (a baseline's says so). */
  label: string;
  target: Target;
  clients: BenchClient[];
  gen: ReturnType<typeof loadGenerator>;
  idle: number | null;
  connected: number | null;
  peak: number;
}

async function load(label: string, k: Knobs, target: Target): Promise<Loaded> {
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
  return { label, target, clients, gen, idle, connected, peak: 0 };
}

type Measured = Awaited<ReturnType<typeof measure>>;

/** Prints one side's measurement of one rate; its point for the summary. */
function report(ctx: RunContext, side: Loaded, m: Measured, rate: number, key: string): Point {
  side.peak = Math.max(side.peak, m.peak);
  const name = side.label;
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
    `  load generator (the bench's own process, on the same cores${ctx.knobs.baselineDir ? ', driving both sides' : ''}): ${r.delivered ? fmt((m.generatorSeconds * 1e6) / r.delivered) : '-'} µs per delivery, its thread ${fmt(m.generatorLoop * 100, 0)}% busy (where it times sends and deliveries); the machine's cores ${fmt(m.machine.busy * 100, 0)}% busy (${fmt(m.machine.stolen * 100, 0)}% of the time stolen by the host: the virtual cores waiting for a physical one)`,
  );
  const dbl = dbLine(m.db, r.acked);
  if (dbl) ctx.print(dbl);
  if (m.sendPath) ctx.print(m.sendPath);
  const us = (s: number | null) => (s === null || r.delivered === 0 ? null : (s * 1e6) / r.delivered);
  return {
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
    rssIdleMb: side.idle,
    stalls: m.stalls,
    stolen: m.machine.stolen,
    generatorBusy: m.generatorLoop,
  };
}

/** After the load: the clients gone, each side's RSS then and `settleSeconds` later, its top statements. */
async function wind(ctx: RunContext, sides: Loaded[], points: Point[][]) {
  for (const side of sides) for (const c of side.clients) c.close();
  await sleep(1000);
  const after = sides.map((side) => rssMb(side.target.server.pid));
  await sleep(ctx.knobs.settleSeconds * 1000);
  for (const [i, side] of sides.entries()) {
    const { target } = side;
    const settled = rssMb(target.server.pid);
    if (sides.length > 1) ctx.print(`${side.label}:`);
    ctx.print(rssLine({ idle: side.idle, connected: side.connected, peak: side.peak, after: after[i]!, settled, settleSeconds: ctx.knobs.settleSeconds }));
    for (const p of points[i]!) ctx.point({ ...p, rssSettledMb: settled });
    if (target.db && ctx.knobs.statements) {
      const top = await target.db.topStatements(ctx.knobs.statements);
      if (top.length) ctx.print(`  top statements (pg_stat_statements, last rate):`);
      for (const s of top) ctx.print(`    ${fmt(s.totalMs, 0)} ms (planning ${fmt(s.planMs, 0)})  ${s.calls} calls (longest ${fmt(s.maxMs, 1)} ms)  ${s.rows} rows  ${s.query.slice(0, 160)}`);
    }
  }
}

let sideBySideRuns = 0;

/**
 * One group run: `open(dir)` starts the server of a checkout. With BENCH_BASELINE (Parley's
 * runs, `sideBySide`), the baseline checkout's server runs beside this one's, set up alike,
 * and each rate loads both at once, each with the full load and a load generator of its
 * own: both sides meet the same moment of the machine, where runs one after another met
 * different ones (this machine's relay ran 7.8 to 16.8 µs a delivery across one sitting).
 */
export async function groupRun(name: string, ctx: RunContext, open: (dir: string) => Promise<Target>, opts: { sideBySide?: boolean } = {}) {
  const { knobs: k } = ctx;
  const baseline = opts.sideBySide ? k.baselineDir : null;
  if (baseline && k.rates.includes('find')) throw new Error('BENCH_BASELINE measures fixed rates side by side: BENCH_RATE=find searches one server at a time');
  // Which side goes first (opened, set up, its load generator's timers first in each turn)
  // alternates from one side-by-side run to the next, so that neither checkout always has it.
  const order = [{ dir: k.serverDir, label: name }, ...(baseline ? [{ dir: baseline, label: baselineLabel(name) }] : [])];
  if (baseline && sideBySideRuns++ % 2 === 1) order.reverse();
  const targets: Target[] = [];
  const sides: Loaded[] = [];
  try {
    for (const { dir } of order) targets.push(await open(dir));
    // Set up one after the other: a side's setup (group invites, their notification work) is not measured.
    for (const [i, target] of targets.entries()) sides.push(await load(order[i]!.label, k, target));
    const points: Point[][] = sides.map(() => []);
    for (const key of k.rates) {
      if (key !== 'find') {
        const rate = Number(key);
        const measured = await Promise.all(sides.map((side) => measure(side.target, (meter) => side.gen.step(rate, meter))));
        for (const [i, side] of sides.entries()) points[i]!.push(report(ctx, side, measured[i]!, rate, key));
        if (baseline) {
          const [mine, theirs] = order[0]!.label === name ? [points[0]!, points[1]!] : [points[1]!, points[0]!];
          ctx.print(sideBySideLine(mine.at(-1)!, theirs.at(-1)!));
        }
        continue;
      }
      // The highest rate kept up with: up by half while it holds, then halve the gap.
      const side = sides[0]!;
      let lo = 0;
      let hi = Number.POSITIVE_INFINITY;
      let rate = 500;
      let best: Point | null = null;
      for (let i = 0; i < k.findSteps; i++) {
        const m = await measure(side.target, (meter) => side.gen.step(rate, meter));
        const point = report(ctx, side, m, rate, 'find');
        if (sustainable(m.load, k.p99LimitMs)) {
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
      if (best) points[0]!.push(best);
    }
    await wind(ctx, sides, points);
  } finally {
    for (const target of targets) await target.close();
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
      groupRun(
        name,
        ctx,
        async (dir) => {
        const db = store === 'postgres' ? await openBenchDatabase(ctx.knobs.databaseUrl!) : null;
        const fcm = ctx.knobs.offlineDevices === 'served' ? await benchFcm() : null;
        let server: ServerProcess;
        try {
          server = await startParley(name.replace(':', '-'), db?.url ?? null, fcm?.env ?? {}, dir);
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
        },
        { sideBySide: true },
      ),
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
