// Every setting of `npm run bench`, read once from the environment (documented in the README).
import os from 'node:os';
import path from 'node:path';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
  return n;
};
const list = (name: string, fallback: string): string[] =>
  (process.env[name] || fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export type Gateway = 'socketio' | 'ws' | 'graphql';

function offlineDevices(v: string | undefined): 'none' | 'served' | 'unserved' {
  if (v === undefined || v === '' || v === '0') return 'none';
  if (v === '1') return 'served';
  if (v === 'unserved') return 'unserved';
  throw new Error(`BENCH_OFFLINE_DEVICES is 0, 1 or unserved, got ${v}`);
}

function serverBuild(v: string | undefined): 'dist' | 'tsx' {
  if (v === undefined || v === '' || v === 'dist') return 'dist';
  if (v === 'tsx') return 'tsx';
  throw new Error(`BENCH_SERVER_BUILD is dist or tsx, got ${v}`);
}

function pushPlatform(v: string | undefined): 'fcm' | 'expo' {
  if (v === undefined || v === '' || v === 'fcm') return 'fcm';
  if (v === 'expo') return 'expo';
  throw new Error(`BENCH_PUSH_PLATFORM is fcm or expo, got ${v}`);
}

export const knobs = Object.freeze({
  /** Connected clients in the group runs. */
  clients: num('BENCH_CLIENTS', 1000),
  /** Members per conversation. */
  group: Math.max(2, num('BENCH_GROUP', 10)),
  /** Members of each conversation who never connect: every message owes them a push (they have no devices). */
  offline: num('BENCH_OFFLINE', 0),
  /**
   * Whether those members have a push device (FCM): `1` with the server's FCM channel pointed
   * at a local server speaking FCM's protocol (bench/fcm.ts), so pushes go out; `unserved`
   * with no FCM channel configured, so a push can reach none of them.
   */
  offlineDevices: offlineDevices(process.env.BENCH_OFFLINE_DEVICES),
  /** Share of the clients that send. */
  senders: Math.min(1, num('BENCH_SENDERS', 0.2)),
  /** Messages a second, one or more rates (each measured in turn), or `find`: the highest rate kept up with. */
  rates: list('BENCH_RATE', '2222'),
  seconds: num('BENCH_SECONDS', 10),
  // Long enough for a fresh server to have compiled its hot paths: under the group runs' load
  // Parley's V8 helper threads (its optimizing compiler) keep busy for about its first 10 s,
  // code that runs once a batch getting hot last; the relay has little code to compile. A
  // shorter warm-up measures part of that start-up cost as if it were the steady state.
  warmupSeconds: num('BENCH_WARMUP_SECONDS', 10),
  bodyBytes: num('BENCH_BODY_BYTES', 100),
  /** After the load, how long to wait for the RSS "settled" reading. */
  settleSeconds: num('BENCH_SETTLE_SECONDS', 60),
  /** `find`: a rate counts as kept up with when p99 stays under this and nothing is lost. */
  p99LimitMs: num('BENCH_P99_MS', 250),
  /** `find`: the most rates tried per run. */
  findSteps: num('BENCH_FIND_STEPS', 12),
  gateways: list('BENCH_GATEWAY', 'socketio,ws,graphql').filter((g): g is Gateway => g === 'socketio' || g === 'ws' || g === 'graphql'),
  /** Run names (or prefixes) to run; empty: all that apply. */
  runs: list('BENCH_RUNS', ''),
  /** Rounds of the selected runs, in turn: each round's ratios are to its own relay, and medians end the output. */
  repeat: Math.max(1, Math.floor(num('BENCH_REPEAT', 1))),
  fanoutSizes: list('BENCH_FANOUT', '1000,10000').map(Number).filter((n) => n > 1),
  fanoutMessages: num('BENCH_FANOUT_MESSAGES', 20),
  /** Sizes of the push fan-out runs' groups (bench/push-fanout.ts): all but the sender offline, each with a device. */
  pushFanoutSizes: list('BENCH_PUSH_FANOUT', '1000,5000').map(Number).filter((n) => n > 1),
  /** The push runs' devices: FCM (one message a request) or Expo (up to 100 a request). */
  pushPlatform: pushPlatform(process.env.BENCH_PUSH_PLATFORM),
  /** The Parley checkout whose server is measured (before/after comparisons use one bench). */
  serverDir: path.resolve(process.env.BENCH_SERVER_DIR || path.join(import.meta.dirname, '..')),
  /**
   * Another checkout whose server each Parley group run measures beside `serverDir`'s, at
   * the same time, each under the full load with a PostgreSQL (or data dir) of its own: a
   * before and after that the machine's drift reaches on both sides alike.
   */
  baselineDir: process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : null,
  /**
   * How Parley's server runs: `dist`, the compiled bundle `npm start` runs (built here when
   * its sources changed), or `tsx`, the TypeScript sources through tsx's loader, as the tests
   * run them (a checkout without scripts/build-server.mjs always runs this way).
   */
  serverBuild: serverBuild(process.env.BENCH_SERVER_BUILD),
  /** PostgreSQL for the postgres runs: `private` starts one of the bench's own (with pg_stat_statements). */
  databaseUrl: process.env.BENCH_PG === 'private' ? 'private' : (process.env.DATABASE_URL ?? null),
  /** Statements listed from pg_stat_statements (private PostgreSQL only). */
  statements: num('BENCH_STATEMENTS', 12),
  profileDir: process.env.BENCH_PROFILE_DIR ? path.resolve(process.env.BENCH_PROFILE_DIR) : null,
  /** Extra node options for the Parley server, space-separated (V8's GC flags, which NODE_OPTIONS refuses). */
  serverArgs: (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean),
  /** Extra environment for the Parley server, `A=1,B=2`. */
  serverEnv: Object.fromEntries(list('BENCH_SERVER_ENV', '').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) as Record<string, string>,
  cores: os.cpus().length,
});

export type Knobs = typeof knobs;
