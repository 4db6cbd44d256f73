// npm run bench:acks: what a realtime gateway costs the server per command, from the frame to
// its ack, with no storage work behind it: the part of the send path that is the gateway's own,
// paid once per message. BENCH_ACKS_CLIENTS (200) clients of each gateway (Socket.IO, /v1/ws)
// send an unknown command (the dispatcher answers `unknown_command`) at BENCH_ACKS_RATE (10,000)
// a second in all; after a 2 s warm-up it reads the server's CPU (user and kernel, /proc) over
// BENCH_ACKS_SECONDS (8) and prints it per ack, for BENCH_ACKS_ROUNDS (3) rounds and their median.
// Embedded storage in a fresh data dir; takes BENCH_SERVER_DIR like the others.
import { type BenchClient, connectAll, socketIoClient, wsClient } from './clients.ts';
import { knobs } from './knobs.ts';
import { cpuSeconds } from './proc.ts';
import { startParley, tokenFor } from './server.ts';
import { fmt } from './stats.ts';

const CLIENTS = Math.max(1, Number(process.env.BENCH_ACKS_CLIENTS ?? 200));
const RATE = Math.max(100, Number(process.env.BENCH_ACKS_RATE ?? 10_000));
const SECONDS = Math.max(1, Number(process.env.BENCH_ACKS_SECONDS ?? 8));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ACKS_ROUNDS ?? 3));
const TICK_MS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (ack: unknown) => (ack as { error?: { code?: string } } | undefined)?.error?.code;

console.log(`command acks: ${CLIENTS} clients per gateway, ${RATE} unknown commands a second, 2 s warm-up + ${SECONDS} s, ${ROUNDS} rounds; server ${knobs.serverDir}`);
// The frame budget is what refuses a flood; here every client sends RATE / CLIENTS a second on purpose.
const server = await startParley('acks', null, { PARLEY_FRAME_BURST: '100000', PARLEY_FRAME_RATE: '100000' });
try {
  const gateways: [string, (i: number) => Promise<BenchClient>][] = [
    ['socketio', async (i) => socketIoClient(server.url, await tokenFor(`acks-s${i}`))],
    ['ws', async (i) => wsClient(server.url, `token=${await tokenFor(`acks-w${i}`)}`)],
  ];
  for (const [gateway, make] of gateways) {
    const clients = await connectAll(CLIENTS, make);
    const perAck: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let acked = 0;
      let wrong = 0;
      let next = 0;
      const timer = setInterval(() => {
        for (let k = 0; k < (RATE * TICK_MS) / 1000; k++) {
          void clients[next++ % clients.length]!.command('bench:nothing', { n: k }).then((ack) => {
            if (codeOf(ack) === 'unknown_command') acked++;
            else wrong++;
          });
        }
      }, TICK_MS);
      await sleep(2000);
      const [c0, a0] = [cpuSeconds(server.pid)!, acked];
      await sleep(SECONDS * 1000);
      const [c1, a1] = [cpuSeconds(server.pid)!, acked];
      clearInterval(timer);
      await sleep(500);
      const n = a1 - a0;
      const us = ((c1.user + c1.system - c0.user - c0.system) * 1e6) / n;
      perAck.push(us);
      console.log(
        `${gateway} round ${round}: ${n} acks (${fmt(n / SECONDS, 0)} a second), server ${fmt(us, 2)} µs per ack (${fmt(((c1.system - c0.system) * 1e6) / n, 2)} in the kernel)${wrong ? `; ${wrong} answers were not unknown_command` : ''}`,
      );
    }
    const sorted = [...perAck].sort((a, b) => a - b);
    console.log(`${gateway}: median ${fmt(sorted[Math.floor(sorted.length / 2)], 2)} µs per ack`);
    for (const c of clients) c.close();
    await sleep(500);
  }
} finally {
  await server.stop();
}
