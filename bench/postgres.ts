// The PostgreSQL side of a run: a database of its own (so pg_stat_database deltas are the
// run's alone), the CPU of the processes serving it, and, on a private server the bench
// starts itself, pg_stat_statements.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stopOnInterrupt } from './on-interrupt.ts';

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface DbCounters {
  commits: number;
  rollbacks: number;
  inserted: number;
  updated: number;
  deleted: number;
  fetched: number;
  blocksWritten: number;
  /** Checkpoints begun (timed or requested): after one, each page's first change writes the whole page to the WAL. */
  checkpoints: number;
  /** The server's WAL (pg_stat_wal, every database): records' full-page images, bytes, syncs to disk and their time (ms; null unless track_wal_io_timing is on, as on the private server). */
  walFpi: number;
  walBytes: number;
  walSyncs: number;
  walSyncMs: number | null;
  /** Autovacuum's runs on the run's tables: vacuums and analyzes (each takes CPU and I/O beside the load). */
  autovacuums: number;
  autoanalyzes: number;
}

export interface BenchDatabase {
  url: string;
  /** Processes whose CPU counts as PostgreSQL's: the database's backends and the server's background workers. */
  pids(): Promise<number[]>;
  counters(): Promise<DbCounters>;
  /** Private server only: forget statement statistics / the top statements since. */
  resetStatements(): Promise<void>;
  /** totalMs: executing and planning (planMs of it), nested statements counted in their caller's too. */
  topStatements(limit: number): Promise<{ calls: number; totalMs: number; planMs: number; maxMs: number; rows: number; query: string }[]>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function query<R>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as R[];
  } finally {
    await c.end();
  }
}

/**
 * Settings of the private server beside the bench's own, `name=value,…` (BENCH_PG_SETTINGS;
 * `autovacuum=off`, say), for every bench that starts one: for experiments, never for
 * figures to compare with a server left at its defaults.
 */
const PG_SETTINGS = (process.env.BENCH_PG_SETTINGS ?? '').split(',').filter(Boolean);

/** A throwaway PostgreSQL 15 cluster on its own port and data dir, run as the postgres user when we are root. */
async function startPrivateServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-pg-'));
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) execFileSync('chown', ['postgres:postgres', dir]);
  const run = (cmd: string, args: string[]) => (asPostgres ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  execFileSync(...run(`${PG_BIN}/initdb`, ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']), { stdio: 'ignore' });
  const port = await freePort();
  const child: ChildProcess = spawn(
    ...run(`${PG_BIN}/postgres`, [
      '-D', path.join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all', '-c', 'pg_stat_statements.track_planning=on', '-c', 'max_connections=200',
      // Times the WAL's syncs (pg_stat_wal.wal_sync_time): how long the disk took to make commits durable.
      '-c', 'track_wal_io_timing=on',
      ...PG_SETTINGS.flatMap((kv) => ['-c', kv]),
    ]),
    { stdio: 'ignore' },
  );
  const forget = stopOnInterrupt(stopServer);
  async function stopServer() {
    if (child.exitCode === null) {
      // SIGINT is PostgreSQL's fast shutdown; sent to the postmaster itself, as runuser does not pass it on.
      let postmaster = 0;
      try {
        postmaster = Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {} // interrupted before it wrote its pid: the child is the postmaster's parent or itself
      if (postmaster) process.kill(postmaster, 'SIGINT');
      else child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await query(url, 'SELECT 1');
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`private PostgreSQL did not start: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await query(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  return {
    url,
    async stop() {
      forget();
      await stopServer();
    },
  };
}

/** A fresh database for one run, on `DATABASE_URL`'s server or on a private one (`private`). */
export async function openBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const server = serverUrl === 'private' ? await startPrivateServer() : null;
  const adminUrl = server?.url ?? serverUrl;
  const name = `parley_bench_${randomBytes(4).toString('hex')}`;
  await query(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname);
  return {
    url: url.toString(),
    async pids() {
      if (!local) return [];
      const rows = await query<{ pid: number }>(
        adminUrl,
        `SELECT pid FROM pg_stat_activity WHERE (datname = $1 AND pid <> pg_backend_pid()) OR backend_type NOT IN ('client backend')`,
        [name],
      );
      return rows.map((r) => r.pid);
    },
    async counters() {
      const [r] = await query<Record<string, string>>(
        adminUrl,
        `SELECT pg_stat_clear_snapshot(), xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched,
           b.buffers_checkpoint + b.buffers_clean + b.buffers_backend AS blocks_written, b.checkpoints_timed + b.checkpoints_req AS checkpoints,
           w.wal_fpi, w.wal_bytes, w.wal_sync, CASE WHEN current_setting('track_wal_io_timing')::bool THEN w.wal_sync_time END AS wal_sync_time
         FROM pg_stat_database, pg_stat_bgwriter b, pg_stat_wal w WHERE datname = $1`,
        [name],
      );
      const [t] = await query<Record<string, string>>(
        url.toString(),
        'SELECT coalesce(sum(autovacuum_count), 0) AS vacuums, coalesce(sum(autoanalyze_count), 0) AS analyzes FROM pg_stat_user_tables',
      );
      return {
        commits: Number(r!.xact_commit),
        rollbacks: Number(r!.xact_rollback),
        inserted: Number(r!.tup_inserted),
        updated: Number(r!.tup_updated),
        deleted: Number(r!.tup_deleted),
        fetched: Number(r!.tup_fetched),
        blocksWritten: Number(r!.blocks_written),
        checkpoints: Number(r!.checkpoints),
        walFpi: Number(r!.wal_fpi),
        walBytes: Number(r!.wal_bytes),
        walSyncs: Number(r!.wal_sync),
        walSyncMs: r!.wal_sync_time === null ? null : Number(r!.wal_sync_time),
        autovacuums: Number(t!.vacuums),
        autoanalyzes: Number(t!.analyzes),
      };
    },
    async resetStatements() {
      if (server) await query(adminUrl, 'SELECT pg_stat_statements_reset()');
    },
    async topStatements(limit) {
      if (!server) return [];
      const rows = await query<{ calls: string; total: number; plan: number; max: number; rows: string; query: string }>(
        adminUrl,
        `SELECT calls, total_exec_time + total_plan_time AS total, total_plan_time AS plan, max_exec_time AS max, rows, query
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = $1 ORDER BY total_exec_time + total_plan_time DESC LIMIT $2`,
        [name, limit],
      );
      return rows.map((r) => ({
        calls: Number(r.calls),
        totalMs: Number(r.total),
        planMs: Number(r.plan),
        maxMs: Number(r.max),
        rows: Number(r.rows),
        query: r.query.replace(/\s+/g, ' '),
      }));
    },
    async close() {
      await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await server?.stop();
    },
  };
}

/** Counter deltas (after - before). */
export const deltaOf = (a: DbCounters, b: DbCounters): DbCounters =>
  Object.fromEntries(
    Object.keys(a).map((k) => {
      const [x, y] = [a[k as keyof DbCounters], b[k as keyof DbCounters]];
      return [k, x === null || y === null ? null : y - x];
    }),
  ) as unknown as DbCounters;
