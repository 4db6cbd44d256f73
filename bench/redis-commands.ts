// npm run bench:redis: what the realtime commands that go to Redis cost an instance of a
// cluster, per command: `heartbeat` (the presence script), `typing:start` (the typing script)
// and `presence:get` of 200 users. One Parley instance (embedded storage, REDIS_URL to a
// redis-server of the bench's own), BENCH_REDIS_CLIENTS (20) /v1/ws clients, all members of
// one group of 200. Each command in turn, at its rate (heartbeat and typing:start 2,000 a
// second in all, presence:get 50), for BENCH_REDIS_ROUNDS (3) rounds: a warm-up of 6 s, longer
// than node-redis's 5 s command timeout, so that timers armed before the window fire in it as
// they do in a steady state, then BENCH_REDIS_SECONDS (8) s in which it reads the server's
// and redis-server's CPU (user and kernel, /proc) and prints them per command, with the
// median of the rounds. Takes BENCH_SERVER_DIR like the others.
import { type BenchClient, connectAll, wsClient } from './clients.ts';
import { knobs } from './knobs.ts';
import { cpuSeconds } from './proc.ts';
import { startRedis } from './redis-server.ts';
import { createGroup, startParley, tokenFor } from './server.ts';
import { fmt } from './stats.ts';

const CLIENTS = Math.max(1, Number(process.env.BENCH_REDIS_CLIENTS ?? 20));
const SECONDS = Math.max(1, Number(process.env.BENCH_REDIS_SECONDS ?? 8));
const ROUNDS = Math.max(1, Number(process.env.BENCH_REDIS_ROUNDS ?? 3));
const WARM_UP_MS = 6000;
const TICK_MS = 10;
const GROUP = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const busy = (pid: number) => {
  const c = cpuSeconds(pid)!;
  return c.user + c.system;
};

const redis = await startRedis();
const server = await startParley('redis-commands', null, { REDIS_URL: redis.url, PARLEY_REDIS_PREFIX: 'bench:', PARLEY_FRAME_BURST: '100000', PARLEY_FRAME_RATE: '100000' });
try {
  const users = Array.from({ length: GROUP }, (_, i) => `redis-u${i}`);
  const conversationId = await createGroup(server.url, users);
  const clients: BenchClient[] = await connectAll(CLIENTS, async (i) => wsClient(server.url, `token=${await tokenFor(users[i]!)}`));
  const commands: [name: string, perSecond: number, data: unknown][] = [
    ['heartbeat', 2000, {}],
    ['typing:start', 2000, { conversationId }],
    ['presence:get', 50, { userIds: users }],
  ];
  console.log(
    `redis commands: ${CLIENTS} /v1/ws clients, one group of ${GROUP}; ${ROUNDS} rounds of ${WARM_UP_MS / 1000} s warm-up + ${SECONDS} s per command; server ${knobs.serverDir}`,
  );
  for (const [name, perSecond, data] of commands) {
    const perCommand: { server: number; redis: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let answered = 0;
      let refused = 0;
      let next = 0;
      let owed = 0;
      const timer = setInterval(() => {
        owed += (perSecond * TICK_MS) / 1000;
        for (; owed >= 1; owed--) {
          void clients[next++ % clients.length]!.command(name, data).then((ack) => {
            if ((ack as { ok?: boolean } | undefined)?.ok) answered++;
            else refused++;
          });
        }
      }, TICK_MS);
      await sleep(WARM_UP_MS);
      const [s0, r0, a0] = [busy(server.pid), busy(redis.pid), answered];
      await sleep(SECONDS * 1000);
      const [s1, r1, a1] = [busy(server.pid), busy(redis.pid), answered];
      clearInterval(timer);
      await sleep(500);
      const n = a1 - a0;
      const figures = { server: ((s1 - s0) * 1e6) / n, redis: ((r1 - r0) * 1e6) / n };
      perCommand.push(figures);
      console.log(
        `${name} round ${round}: ${n} answered (${fmt(n / SECONDS, 0)} a second), server ${fmt(figures.server, 1)} µs and redis-server ${fmt(figures.redis, 1)} µs per command${refused ? `; ${refused} refused` : ''}`,
      );
    }
    const median = (f: (x: { server: number; redis: number }) => number) => fmt(perCommand.map(f).sort((a, b) => a - b)[Math.floor(perCommand.length / 2)], 1);
    console.log(`${name}: median server ${median((x) => x.server)} µs, redis-server ${median((x) => x.redis)} µs per command`);
  }
  for (const c of clients) c.close();
} finally {
  await server.stop();
  await redis.stop();
}
