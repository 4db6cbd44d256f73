import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { killChild, ownChild, ownDir } from './children.ts';
import { freePort } from './redis.ts';

/**
 * A PostgreSQL server of the test's own (initdb in a temporary directory, its own port), so
 * a test can take the database away and bring it back. PostgreSQL refuses to run as root:
 * as root the server runs as the `postgres` user (setpriv execs, so the PID is the server's).
 */
export interface PrivatePostgres {
  url: string;
  /** SIGQUIT: immediate shutdown, every connection cut, as in a crash. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args]] : [cmd, args];

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = ownDir(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-pg-')));
  const data = path.join(dir, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    // The test runner's temporary directories are private (0700): the postgres user must be
    // able to pass through them (search only, no listing) to reach its data directory.
    for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
      const st = fs.statSync(d);
      if (st.uid === 0 && (st.mode & 0o001) === 0) fs.chmodSync(d, (st.mode & 0o7777) | 0o011);
    }
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    fs.chownSync(dir, uid, gid);
    fs.chownSync(data, uid, gid);
  }
  execFileSync(...asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']), { stdio: 'ignore' });
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ReturnType<typeof spawn> | null = null;
  const reachable = async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => {});
    }
  };
  const start = async () => {
    const [cmd, args] = asPostgres('postgres', ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200']);
    child = ownChild(spawn(cmd, args, { stdio: 'ignore' }));
    const deadline = Date.now() + 60_000;
    while (!(await reachable())) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`private postgres on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    if (child) await killChild(child, 'SIGQUIT');
    child = null;
  };
  await start();
  return {
    url,
    start,
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
