// npm run bench: Parley under C clients in groups of K, sending R messages/s for D seconds,
// against a bare Socket.IO relay (the ceiling) with the same clients and load.
// Environment: BENCH_CLIENTS (1000), BENCH_GROUP (10), BENCH_RATE (messages/s, 500),
// BENCH_SECONDS (10), BENCH_GATEWAY (socketio | ws), DATABASE_URL (adds a PostgreSQL run),
// BENCH_RUNS (ceiling,embedded,postgres: which to run), BENCH_PROFILE_DIR (CPU profiles of Parley).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { type BenchClient, socketIoClient, wsClient } from './clients.ts';
import { type Member, runLoad } from './load.ts';
import { formatResult, type RunResult } from './stats.ts';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const C = num('BENCH_CLIENTS', 1000);
const K = num('BENCH_GROUP', 10);
const RATE = num('BENCH_RATE', 500);
const SECONDS = num('BENCH_SECONDS', 10);
const GATEWAY = process.env.BENCH_GATEWAY === 'ws' ? 'ws' : 'socketio';
const SECRET = 'bench-secret-bench-secret-bench-secret-0';
const API_KEY = 'bench-admin-key-0123456789';
const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = new Set((process.env.BENCH_RUNS ?? 'ceiling,embedded,postgres').split(','));
const PROFILE = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];

async function start(args: string[], env: Record<string, string>, pattern: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, url };
}

const rssOf = (pid: number | undefined) => () => {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
};

async function connectAll(make: (i: number) => Promise<BenchClient>): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  for (let i = 0; i < C; i += 100) clients.push(...(await Promise.all(Array.from({ length: Math.min(100, C - i) }, (_, j) => make(i + j)))));
  return clients;
}

async function ceiling(): Promise<RunResult> {
  const { child, url } = await start(['bench/ceiling-server.ts'], {}, /ceiling listening on (\S+)/);
  try {
    const clients = await connectAll((i) => socketIoClient(url, { room: `room-${Math.floor(i / K)}` }));
    const members: Member[] = clients.map((client, i) => ({ client, conversationId: `room-${Math.floor(i / K)}` }));
    const result = await runLoad('ceiling: bare Socket.IO relay (no auth, no persistence)', members, K, RATE, SECONDS, rssOf(child.pid));
    for (const c of clients) c.close();
    return result;
  } finally {
    child.kill('SIGKILL');
  }
}

async function parley(label: string, env: Record<string, string>): Promise<RunResult> {
  const { child, url } = await start(
    [...PROFILE, 'src/main.ts'],
    { PORT: '0', LOG_LEVEL: 'warn', PARLEY_JWT_SECRET: SECRET, PARLEY_API_KEYS: API_KEY, PARLEY_RATE_LIMIT: 'off', ...env },
    /Parley listening on (\S+)/,
  );
  try {
    const users = Array.from({ length: C }, (_, i) => `bench-${i}`);
    const conversations: string[] = [];
    for (let g = 0; g * K < C; g++) {
      const group = users.slice(g * K, g * K + K);
      const res = await fetch(`${url}/v1/conversations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'x-parley-user': group[0]!, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'group', members: group.slice(1), title: `bench ${g}` }),
      });
      conversations.push(((await res.json()) as { conversation: { id: string } }).conversation.id);
    }
    const key = new TextEncoder().encode(SECRET);
    const token = (u: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(u).setExpirationTime('1h').sign(key);
    const clients = await connectAll(async (i) => (GATEWAY === 'ws' ? wsClient(url, await token(users[i]!)) : socketIoClient(url, { token: await token(users[i]!) })));
    const members: Member[] = clients.map((client, i) => ({ client, conversationId: conversations[Math.floor(i / K)]! }));
    const result = await runLoad(label, members, K, RATE, SECONDS, rssOf(child.pid));
    for (const c of clients) c.close();
    return result;
  } finally {
    // SIGTERM: a graceful stop, so a CPU profile gets written.
    child.kill(PROFILE.length ? 'SIGTERM' : 'SIGKILL');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
  }
}

console.log(`Parley benchmark: ${C} clients (${GATEWAY}), groups of ${K}, ${RATE} messages/s for ${SECONDS} s, ${os.cpus().length} cores\n`);
const top = RUNS.has('ceiling') ? await ceiling() : null;
if (top) console.log(formatResult(top));
const ratio = (r: RunResult) => (top ? `  ratio to ceiling (delivered/s): ${(r.delivered / r.seconds / (top.delivered / top.seconds)).toFixed(2)}` : '');

if (RUNS.has('embedded')) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  try {
    const embedded = await parley(`Parley embedded (PGlite), ${GATEWAY}`, { PARLEY_DATA_DIR: dataDir });
    console.log(`\n${formatResult(embedded)}\n${ratio(embedded)}`);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.env.DATABASE_URL && RUNS.has('postgres')) {
  const name = `parley_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${name}`;
  try {
    const onPg = await parley(`Parley on PostgreSQL, ${GATEWAY}`, { DATABASE_URL: url.toString() });
    console.log(`\n${formatResult(onPg)}\n${ratio(onPg)}`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
process.exit(0);
