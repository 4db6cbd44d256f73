import { randomBytes } from 'node:crypto';
import { API_KEY, SECRET } from './harness.ts';
import { throwawayDatabase } from './backends.ts';
import { type PrivateRedis, startPrivateRedis } from './redis.ts';
import { killAllServers, type ServerProcess, startServer } from './server-process.ts';

/**
 * A real cluster for a test file: N Parley processes (started in parallel, as `npm start`
 * runs them) on a throwaway database of the machine's PostgreSQL (or `databaseUrl`) and a
 * private redis-server the test may kill. Every piece is removed by close().
 */
export interface Cluster {
  redis: PrivateRedis;
  databaseUrl: string;
  env: Record<string, string>;
  /** Live instances by slot; a stopped slot is null until started again. */
  instances: (ServerProcess | null)[];
  urls(): string[];
  /** Starts the instance of `slot` again (after a kill or a stop). */
  start(slot: number): Promise<ServerProcess>;
  /** SIGKILL of one instance: no shutdown hook runs. */
  kill(slot: number): Promise<void>;
  /**
   * SIGTERM and wait for the exit; answers the exit code, how long it took and what the
   * instance printed. One that had ended already (a crash) answers at once; one still
   * running a minute after (past any shutdown timeout) is killed and answers code null.
   */
  stop(slot: number): Promise<{ code: number | null; ms: number; output: string }>;
  close(): Promise<void>;
}

/** An instance told to stop that has not exited by then is killed (its own shutdown timeout is shorter). */
const STOP_DEADLINE_MS = 60_000;

export async function startCluster(opts: { size?: number; env?: Record<string, string>; databaseUrl?: string } = {}): Promise<Cluster> {
  const size = opts.size ?? 3;
  const [redis, db] = await Promise.all([startPrivateRedis(), opts.databaseUrl ? null : throwawayDatabase('parley_cluster')]);
  const databaseUrl = opts.databaseUrl ?? db!.url;
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    PARLEY_REDIS_PREFIX: `c${randomBytes(3).toString('hex')}:`,
    PARLEY_JWT_SECRET: SECRET,
    PARLEY_API_KEYS: API_KEY,
    PARLEY_RATE_LIMIT: 'off',
    // A rolling replacement runs six instances at once on the shared test server (100
    // connections, other test files using it too): each keeps to a few.
    PARLEY_DB_POOL_SIZE: '6',
    PARLEY_PUSH_ALLOW_INSECURE: '1',
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const instances: (ServerProcess | null)[] = Array.from({ length: size }, () => null);
  const start = async (slot: number) => {
    const server = await startServer(env, Number(process.env.CLUSTER_START_TIMEOUT_MS ?? 90_000));
    instances[slot] = server;
    return server;
  };
  const close = async () => {
    // Every server this file started, including one still starting when a test failed.
    await killAllServers();
    await redis.stop();
    await db?.drop().catch(() => {});
  };
  try {
    await Promise.all(instances.map((_, slot) => start(slot)));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    redis,
    databaseUrl,
    env,
    instances,
    urls: () => instances.flatMap((s) => (s ? [s.url] : [])),
    start,
    async kill(slot) {
      await instances[slot]?.kill();
      instances[slot] = null;
    },
    async stop(slot) {
      const server = instances[slot]!;
      const { child } = server;
      instances[slot] = null;
      const t0 = Date.now();
      const ended = child.exitCode !== null || child.signalCode !== null;
      const code = ended
        ? child.exitCode
        : await new Promise<number | null>((resolve) => {
            const hung = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
            child.once('exit', (c) => {
              clearTimeout(hung);
              resolve(c);
            });
            child.kill('SIGTERM');
          });
      return { code, ms: Date.now() - t0, output: server.output() };
    },
    close,
  };
}
