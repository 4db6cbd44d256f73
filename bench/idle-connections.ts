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
// the idle figure divided by the connections. RSS follows the collector as much as the
// connections (how large V8 lets its young generation grow, garbage not yet collected), so
// each reading also gives the live heap: the server runs with its inspector on a loopback
// port, and the bench asks it for a full collection and then process.memoryUsage().heapUsed.
// That is what a change to what a connection holds moves.
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

type Server = { child: ChildProcess; url: string; inspector: string };

/** Starts a process (its inspector on a loopback port) and waits for `ready` in its output. */
async function startProcess(args: string[], env: Record<string, string>, ready: RegExp): Promise<Server> {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', ...args], {
    cwd: SERVER_DIR,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const found = () => {
    const url = ready.exec(out)?.[1];
    const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(out)?.[1];
    return url && inspector ? { url, inspector } : null;
  };
  const urls = await new Promise<{ url: string; inspector: string }>((resolve, reject) => {
    const check = (d: Buffer) => {
      out += d;
      const f = found();
      if (f) resolve(f);
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  return { child, ...urls };
}

/** The server's live heap in KB: a full collection through its inspector, then heapUsed. */
async function liveHeapKb(inspector: string): Promise<number> {
  const ws = new WebSocket(inspector);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let next = 0;
  const call = (method: string, params?: object) =>
    new Promise<{ id?: number; result?: { result?: { value?: unknown } } }>((resolve) => {
      const id = ++next;
      const onMessage = (data: WebSocket.RawData) => {
        const reply = JSON.parse(String(data)) as { id?: number; result?: { result?: { value?: unknown } } };
        if (reply.id !== id) return;
        ws.off('message', onMessage);
        resolve(reply);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    // Twice: the first collection's finalizers (weak references, FinalizationRegistry) can free more.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const reply = await call('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true });
    return Number(reply.result?.result?.value) / 1024;
  } finally {
    ws.close();
  }
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
  let server: Server;
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
    const idleHeap = await liveHeapKb(server.inspector);
    const row: Record<string, number | string> = { run: name, 'idle MB': Math.round(idle / 1024), 'idle heap MB': Math.round(idleHeap / 1024) };
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
      row[`heap KB/conn @${n}`] = Math.round((((await liveHeapKb(server.inspector)) - idleHeap) / n) * 100) / 100;
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
