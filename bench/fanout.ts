// Large groups: one group of N members, all connected; one member sends, one message at a
// time, and the time from send to the last recipient is what counts. Connecting them shows
// what presence costs (each connection tells those who share a conversation with it).
import { performance } from 'node:perf_hooks';
import { type BenchClient, connectAll, socketIoClient, wsClient } from './clients.ts';
import { knobs } from './knobs.ts';
import { openBenchDatabase } from './postgres.ts';
import { cpuMeter, rssMb } from './proc.ts';
import type { BenchRun, RunContext } from './registry.ts';
import { createGroup, deliveryIdle, startParley, tokenFor } from './server.ts';
import { fmt, int, percentiles } from './stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CONNECT_DEADLINE_MS = 300_000;
const MESSAGE_DEADLINE_MS = 30_000;

async function fanout(ctx: RunContext, size: number) {
  const k = ctx.knobs;
  const gateway = k.gateways.find((g) => g === 'socketio' || g === 'ws') ?? 'ws';
  const db = k.databaseUrl ? await openBenchDatabase(k.databaseUrl) : null;
  const server = await startParley(`fanout-${size}`, db?.url ?? null).catch(async (err) => {
    await db?.close();
    throw err;
  });
  const clients: BenchClient[] = [];
  try {
    const users = Array.from({ length: size }, (_, i) => `fan-${i}`);
    const id = await createGroup(server.url, users);
    const cpu = cpuMeter(() => [server.pid]);
    await cpu.start();
    const t0 = performance.now();
    const connecting = connectAll(size, async (i) => {
      const token = await tokenFor(users[i]!);
      return gateway === 'ws' ? wsClient(server.url, `token=${token}`) : socketIoClient(server.url, token);
    }, 200);
    const all = await Promise.race([connecting, sleep(CONNECT_DEADLINE_MS).then(() => null)]);
    if (!all) {
      ctx.print(`fanout:${size}: connecting ${size} clients took over ${CONNECT_DEADLINE_MS / 1000} s; stopped`);
      void connecting.then((cs) => {
        for (const c of cs) c.close();
      });
      return;
    }
    clients.push(...all);
    await deliveryIdle(server.url);
    // Presence updates still arriving are part of what connecting costs.
    let presence = -1;
    const total = () => clients.reduce((n, c) => n + (c.counts.get('presence:update') ?? 0), 0);
    while (presence !== total()) {
      presence = total();
      await sleep(1000);
    }
    const connectMs = performance.now() - t0;
    const connectCpu = await cpu.stop();
    ctx.print(
      `fanout:${size} (${gateway}, ${db ? 'PostgreSQL' : 'embedded'}): ${size} clients connected in ${fmt(connectMs / 1000)} s, server CPU ${fmt((connectCpu * 1e3) / size, 2)} ms per connection, ${int(presence)} presence:update deliveries (${fmt(presence / size, 1)} per connection); RSS ${int(rssMb(server.pid))} MB`,
    );

    const arrivals = new Map<string, number[]>();
    for (const c of clients) c.onMessage((d) => void arrivals.get(d.message.body)?.push(performance.now()));
    const last: number[] = [];
    const each: number[] = [];
    let missing = 0;
    const sendCpu = cpuMeter(() => [server.pid]);
    await sendCpu.start();
    for (let m = 0; m < k.fanoutMessages; m++) {
      const body = `fan ${m}`;
      const got: number[] = [];
      arrivals.set(body, got);
      const sentAt = performance.now();
      const ack = await clients[0]!.send(id, `fan-${m}`, body);
      if (!ack.ok) throw new Error(`fan-out send failed: ${ack.code}`);
      const deadline = sentAt + MESSAGE_DEADLINE_MS;
      while (got.length < size - 1 && performance.now() < deadline) await sleep(5);
      missing += size - 1 - got.length;
      for (const t of got) each.push(t - sentAt);
      if (got.length) last.push(Math.max(...got) - sentAt);
      arrivals.delete(body);
    }
    const cpuPerDelivery = ((await sendCpu.stop()) * 1e6) / Math.max(1, each.length);
    const l = percentiles(last);
    const e = percentiles(each);
    ctx.print(
      `  ${k.fanoutMessages} messages to ${size - 1} recipients: send → last recipient ms p50 ${fmt(l.p50)} p99 ${fmt(l.p99)} max ${fmt(l.max)}; send → each recipient p50 ${fmt(e.p50)} p99 ${fmt(e.p99)}; missing ${missing}; server ${fmt(cpuPerDelivery, 2)} µs CPU per delivery`,
    );

    // Typing: 20 members start typing; each start should cost one pass over the members, not one per member pair.
    const typingCpu = cpuMeter(() => [server.pid]);
    await typingCpu.start();
    const typers = clients.slice(1, 21);
    await Promise.all(typers.map((c) => c.command('typing:start', { conversationId: id })));
    let typing = -1;
    const typingTotal = () => clients.reduce((n, c) => n + (c.counts.get('typing:update') ?? 0), 0);
    while (typing !== typingTotal()) {
      typing = typingTotal();
      await sleep(500);
    }
    const tc = await typingCpu.stop();
    ctx.print(`  ${typers.length} typing:start: ${int(typing)} typing:update deliveries, server CPU ${fmt((tc * 1e3) / typers.length, 2)} ms per typing:start`);
    ctx.point({
      run: `fanout:${size}`,
      key: 'fanout',
      rate: `1 msg to ${size - 1}`,
      deliveriesPerSec: Number.NaN,
      p50: l.p50,
      p99: l.p99,
      lost: missing,
      duplicates: 0,
      outOfOrder: '-',
      serverUsPerDelivery: cpuPerDelivery,
      pgUsPerDelivery: null,
    });
  } finally {
    for (const c of clients) c.close();
    await server.stop();
    await db?.close();
  }
}

export const fanoutRuns: BenchRun[] = knobs.fanoutSizes.map((size) => ({
  name: `fanout:${size}`,
  what: `one group of ${size} members: send to last recipient, presence and typing cost`,
  applies: () => true,
  run: (ctx) => fanout(ctx, size),
}));
