// Starting and stopping the servers a run measures, as separate processes.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { knobs } from './knobs.ts';
import { stopOnInterrupt } from './on-interrupt.ts';
import { freePort } from './postgres.ts';

export const SECRET = 'bench-secret-bench-secret-bench-secret-0';
export const API_KEY = 'bench-admin-key-0123456789';

export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`server not ready after ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `node <args>` in `cwd` on a port chosen here, ready once `readyPath` answers 2xx. */
async function startNode(cwd: string, args: string[], env: Record<string, string>, readyPath: string): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}${readyPath}`, child, () => out);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const forget = stopOnInterrupt(() => child.kill('SIGKILL'));
  return {
    url,
    pid: child.pid!,
    async stop() {
      forget();
      if (child.exitCode !== null) return;
      // SIGTERM is a graceful stop, which is when a CPU profile is written; SIGKILL if it hangs.
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), knobs.profileDir ? 120_000 : 30_000);
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
      clearTimeout(killer);
    },
  };
}

const BENCH_ROOT = path.resolve(import.meta.dirname, '..');

/**
 * How a reference server of this checkout (bench/*-server.ts) runs: compiled like Parley's
 * server, so that a ratio to it compares two servers run alike (tsx's keepNames would give
 * the relay's per-message closure a defineProperty call Parley's bundle does not pay), or
 * through tsx with BENCH_SERVER_BUILD=tsx. The bundle goes under node_modules/.cache, where
 * its imports of ws, pg and socket.io resolve to this checkout's packages.
 */
async function referenceEntry(file: string): Promise<string[]> {
  if (knobs.serverBuild === 'tsx') return ['--import', 'tsx', file];
  const outfile = path.join(BENCH_ROOT, 'node_modules', '.cache', 'parley', 'bench', `${path.basename(file, '.ts')}.mjs`);
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [path.join(BENCH_ROOT, file)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  return [outfile];
}

/** The bare ws relay (bench/relay-server.ts): the ceiling; with a database, the floor of a durable design. */
export const startRelay = async (databaseUrl?: string) =>
  startNode(BENCH_ROOT, await referenceEntry('bench/relay-server.ts'), databaseUrl ? { RELAY_DATABASE_URL: databaseUrl } : {}, '/health');

/** Bare Socket.IO rooms (bench/socketio-relay-server.ts): the ceiling of Socket.IO itself. */
export const startSocketIoRelay = async () => startNode(BENCH_ROOT, await referenceEntry('bench/socketio-relay-server.ts'), {}, '/health');

/**
 * What starts Parley's server: as `npm start` does, the compiled bundle (built first if its
 * sources changed since), unless BENCH_SERVER_BUILD=tsx or the checkout cannot build one.
 * The two differ: tsx compiles with esbuild's keepNames, which wraps every named function
 * created at run time in a call that defines its `name` (each closure then carries a
 * property store of its own), and runs a loader thread.
 */
async function serverEntry(dir: string): Promise<string[]> {
  const builder = path.join(dir, 'scripts', 'build-server.mjs');
  if (knobs.serverBuild === 'tsx' || !fs.existsSync(builder)) return ['--import', 'tsx', 'src/main.ts'];
  const { buildServer } = (await import(builder)) as { buildServer(o: { ifStale: boolean; quiet: boolean }): Promise<boolean> };
  await buildServer({ ifStale: true, quiet: true });
  return startArgs(dir);
}

/**
 * Node's arguments as the checkout's `npm start` passes them (`exec node <flags> <entry>`),
 * so each checkout's server runs with its own V8 flags, as its users run it.
 */
function startArgs(dir: string): string[] {
  const start = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
  const words = start.trim().split(/\s+/);
  const node = words.indexOf('node');
  const args = node < 0 ? [] : words.slice(node + 1);
  if (args.at(-1) !== 'dist/server/main.mjs') throw new Error(`${dir}: npm start is not \`node <flags> dist/server/main.mjs\` (${start}): update bench/server.ts`);
  return args;
}

/**
 * Parley from `dir` (this checkout, or another for before/after), embedded in a fresh data
 * dir unless `databaseUrl` is given. `name` names its CPU profile.
 */
export async function startParley(name: string, databaseUrl: string | null, extraEnv: Record<string, string> = {}, dir = knobs.serverDir): Promise<ServerProcess> {
  const dataDir = databaseUrl ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  const profile = knobs.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(knobs.profileDir, name)}`] : [];
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    PARLEY_JWT_SECRET: SECRET,
    PARLEY_API_KEYS: API_KEY,
    PARLEY_RATE_LIMIT: 'off',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { PARLEY_DATA_DIR: dataDir! }),
    ...knobs.serverEnv,
    ...extraEnv,
  };
  try {
    const server = await startNode(dir, [...profile, ...knobs.serverArgs, ...(await serverEntry(dir))], env, '/ready');
    return {
      ...server,
      async stop() {
        await server.stop();
        if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

const key = new TextEncoder().encode(SECRET);
export const tokenFor = (userId: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('2h').sign(key);

/** An admin REST call acting for `userId`. */
export async function adminCall<T>(url: string, method: string, route: string, userId: string, body: unknown): Promise<T> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'x-parley-user': userId, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A group owned by members[0] holding all of `members` (added in chunks the API accepts). */
export async function createGroup(url: string, members: string[]): Promise<string> {
  const [owner, ...rest] = members;
  const first = rest.slice(0, 999);
  const { conversation } = await adminCall<{ conversation: { id: string } }>(url, 'POST', '/v1/conversations', owner!, { kind: 'group', members: first, title: 'bench' });
  for (let i = first.length; i < rest.length; i += 100) {
    await adminCall(url, 'POST', `/v1/conversations/${conversation.id}/members`, owner!, { userIds: rest.slice(i, i + 100) });
  }
  return conversation.id;
}

/**
 * Waits (up to `timeoutMs`) until the server's delivery queues are empty, so that setup's
 * own work (group invites pushed to members not yet connected) is not measured as the load's.
 * Servers without the admin status route answer 404 and are not waited for.
 */
export async function deliveryIdle(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/v1/admin/status`, { headers: { authorization: `Bearer ${API_KEY}` } });
    if (!res.ok) return;
    const { channels } = (await res.json()) as { channels: Record<string, { queued?: number; active?: number; retrying?: number }> };
    if (Object.values(channels).every((c) => (c.queued ?? 0) + (c.active ?? 0) + (c.retrying ?? 0) === 0)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
