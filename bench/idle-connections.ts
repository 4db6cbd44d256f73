// Idle memory: Parley's resident memory idle, then with 1,000 and 10,000 idle realtime
// connections, over Socket.IO and over /v1/ws, embedded and on PostgreSQL; and a bare `ws`
// server and a bare Socket.IO server with the same connections, for what a connection costs
// at the least on each protocol.
//
//   npm run bench:idle                         embedded, plus PostgreSQL when reachable
//   IDLE_COUNTS=1000,10000 IDLE_RUNS=embedded:ws,postgres:socketio,bare,bare:socketio npm run bench:idle
//   IDLE_DATABASE_URL=postgres://…/test        where the PostgreSQL runs make their database
//   IDLE_SETTLE_MS=5000                        how long to let memory settle before reading it
//   IDLE_SERVER_DIR=/path/to/checkout          measure another checkout's server (before/after)
//
// Each run is a fresh server process (the same command as `npm start`); the clients are in
// this process. RSS is read from /proc/<pid>/status; "per connection" is the growth over
// the idle figure divided by the connections.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

const ROOT = path.resolve(import.meta.dirname, '..');
const SERVER_DIR = path.resolve(process.env.IDLE_SERVER_DIR ?? ROOT);
const SECRET = 'idle-connections-bench-secret-0123456789';
const COUNTS = (process.env.IDLE_COUNTS ?? '1000,10000').split(',').map(Number);
const SETTLE_MS = Number(process.env.IDLE_SETTLE_MS ?? 5000);
const PG_URL = process.env.IDLE_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const OPEN_AT_ONCE = 200;

type Mode = 'embedded' | 'postgres';
type Gateway = 'socketio' | 'ws';
type Bare = 'bare' | 'bare:socketio';
type Run = { mode: Mode; gateway: Gateway } | Bare;
const isBare = (r: Run): r is Bare => typeof r === 'string';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Starts a process and waits for `ready` in its output; answers it with its URL. */
async function startProcess(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { cwd: SERVER_DIR, env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = ready.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  return { child, url };
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

/** A server with nothing but `ws`: what an open WebSocket costs at the least. */
const BARE = `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
wss.on('listening', () => console.log('listening on http://127.0.0.1:' + wss.address().port));`;

/** A server with nothing but Socket.IO (its defaults, every event answered): the floor for the Socket.IO runs. */
const BARE_SOCKETIO = `
const http = require('node:http').createServer();
const { Server } = require('socket.io');
const io = new Server(http);
io.on('connection', (socket) => socket.onAny((event, data, ack) => typeof ack === 'function' && ack(data)));
http.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + http.address().port));`;

async function connect(gateway: Gateway | 'bare', url: string, userId: string): Promise<() => void> {
  if (gateway === 'socketio') {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
    const socket: Socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
    return () => socket.close();
  }
  const token = gateway === 'ws' ? await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('2h').sign(new TextEncoder().encode(SECRET)) : '';
  const ws = new WebSocket(gateway === 'ws' ? `${url.replace('http', 'ws')}/v1/ws?token=${token}` : url.replace('http', 'ws'));
  await new Promise((resolve, reject) => ws.once(gateway === 'ws' ? 'message' : 'open', resolve).once('error', reject));
  return () => ws.terminate();
}

async function measure(run: Run): Promise<Record<string, number | string>> {
  const name = run === 'bare' ? 'bare ws server' : run === 'bare:socketio' ? 'bare Socket.IO server' : `${run.mode} ${run.gateway === 'ws' ? '/v1/ws' : 'Socket.IO'}`;
  let cleanup = async () => {};
  let server: { child: ChildProcess; url: string };
  if (isBare(run)) {
    server = await startProcess(['-e', run === 'bare' ? BARE : BARE_SOCKETIO], {}, /listening on (http:\/\/\S+)/);
  } else {
    const env: Record<string, string> = { PARLEY_JWT_SECRET: SECRET, PARLEY_RATE_LIMIT: 'off' };
    if (run.mode === 'embedded') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-idle-'));
      env.PARLEY_DATA_DIR = dir;
      cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
    } else {
      const db = `parley_idle_${process.pid}_${Date.now()}`;
      await admin(`CREATE DATABASE ${db}`);
      const u = new URL(PG_URL);
      u.pathname = `/${db}`;
      env.DATABASE_URL = u.toString();
      cleanup = () => admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    }
    // What `npm start` runs: the compiled server when the checkout has one, else the sources through tsx.
    const compiled = fs.existsSync(path.join(SERVER_DIR, 'dist/server/main.mjs'));
    server = await startProcess(compiled ? ['dist/server/main.mjs'] : ['--import', 'tsx', 'src/main.ts'], env, /Parley listening on (http:\/\/\S+)/);
  }
  const pid = server.child.pid!;
  const closers: (() => void)[] = [];
  try {
    await sleep(SETTLE_MS);
    const idle = rssKb(pid);
    const row: Record<string, number | string> = { run: name, 'idle MB': Math.round(idle / 1024) };
    for (const n of COUNTS) {
      while (closers.length < n) {
        const batch = Math.min(OPEN_AT_ONCE, n - closers.length);
        const base = closers.length;
        closers.push(...(await Promise.all(Array.from({ length: batch }, (_, i) => connect(run === 'bare' ? 'bare' : run === 'bare:socketio' ? 'socketio' : run.gateway, server.url, `idle-${base + i}`)))));
      }
      await sleep(SETTLE_MS);
      const kb = rssKb(pid);
      row[`${n} conns MB`] = Math.round(kb / 1024);
      row[`KB/conn @${n}`] = Math.round(((kb - idle) / n) * 10) / 10;
    }
    return row;
  } finally {
    for (const close of closers) close();
    await stop(server.child);
    await cleanup();
  }
}

async function main() {
  const withPg = await postgresReachable();
  const all: Run[] = [
    { mode: 'embedded', gateway: 'socketio' },
    { mode: 'embedded', gateway: 'ws' },
    ...(withPg ? ([{ mode: 'postgres', gateway: 'socketio' }, { mode: 'postgres', gateway: 'ws' }] as Run[]) : []),
    'bare',
    'bare:socketio',
  ];
  const wanted = process.env.IDLE_RUNS?.split(',');
  const runs = wanted ? all.filter((r) => wanted.includes(isBare(r) ? r : `${r.mode}:${r.gateway}`)) : all;
  if (!withPg) console.log(`PostgreSQL not reachable at ${PG_URL}: embedded runs only`);
  const rows = [];
  for (const run of runs) {
    const row = await measure(run);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.table(rows);
}

await main();
