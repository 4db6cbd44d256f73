// The cluster run: three Parley instances on one PostgreSQL and a redis-server of the
// bench's own, clients spread over the instances (client i on instance i mod 3, so a
// group's members sit on different instances and most deliveries cross Redis). Measured as
// the single-instance runs are (group-runs.ts): deliveries/s, latency, loss and order, and
// CPU per delivery of all three instances plus Redis, against the same load on one.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { socketIoClient, wsClient } from './clients.ts';
import { groupRun } from './group-runs.ts';
import type { Knobs } from './knobs.ts';
import { stopOnInterrupt } from './on-interrupt.ts';
import { freePort, openBenchDatabase } from './postgres.ts';
import type { BenchRun } from './registry.ts';
import { createGroup, deliveryIdle, type ServerProcess, startParley, tokenFor } from './server.ts';

const INSTANCES = 3;

async function startRedis(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const forget = stopOnInterrupt(stop);
  const url = `redis://127.0.0.1:${port}`;
  // Up once it accepts a connection.
  const net = await import('node:net');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      forget();
      await stop();
    },
  };
}

function clusterRun(gateway: 'socketio' | 'ws'): BenchRun {
  const name = `cluster:${gateway}`;
  return {
    name,
    what: `Parley cluster: ${INSTANCES} instances on PostgreSQL and Redis, clients spread over them, ${gateway === 'ws' ? '/v1/ws' : 'Socket.IO'}`,
    applies: (k: Knobs) => k.gateways.includes(gateway) && k.databaseUrl !== null,
    run: (ctx) =>
      groupRun(name, ctx, async () => {
        const db = await openBenchDatabase(ctx.knobs.databaseUrl!);
        const redis = await startRedis();
        const servers: ServerProcess[] = [];
        const close = async () => {
          await Promise.all(servers.map((s) => s.stop()));
          await redis.stop();
          await db.close();
        };
        try {
          const env = { REDIS_URL: redis.url, PARLEY_REDIS_PREFIX: 'bench:' };
          servers.push(...(await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startParley(`${name.replace(':', '-')}-${i}`, db.url, env)))));
        } catch (err) {
          await close();
          throw err;
        }
        let next = 0;
        return {
          server: servers[0]!,
          pids: () => [...servers.map((s) => s.pid), redis.pid],
          db,
          // The job queue is shared: idle on one instance is idle everywhere.
          settled: () => deliveryIdle(servers[0]!.url),
          groups: (groups) => Promise.all(groups.map((g, i) => createGroup(servers[i % INSTANCES]!.url, g))),
          async connect(user) {
            const url = servers[next++ % INSTANCES]!.url;
            return gateway === 'ws' ? wsClient(url, `token=${await tokenFor(user)}`) : socketIoClient(url, await tokenFor(user));
          },
          close,
        };
      }),
  };
}

export const clusterRuns: BenchRun[] = [clusterRun('socketio'), clusterRun('ws')];
