// The cluster run: three Parley instances on one PostgreSQL and a redis-server of the
// bench's own, clients spread over the instances (client i on instance i mod 3, so a
// group's members sit on different instances and most deliveries cross Redis). Measured as
// the single-instance runs are (group-runs.ts): deliveries/s, latency, loss and order, and
// CPU per delivery of all three instances plus Redis, against the same load on one.
import { socketIoClient, wsClient } from './clients.ts';
import { groupRun } from './group-runs.ts';
import type { Knobs } from './knobs.ts';
import { openBenchDatabase } from './postgres.ts';
import { startRedis } from './redis-server.ts';
import type { BenchRun } from './registry.ts';
import { createGroup, deliveryIdle, type ServerProcess, startParley, tokenFor } from './server.ts';

const INSTANCES = 3;

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
