import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { ownChild, ownDir, killChild } from './children.ts';

/** The machine's Redis, shared by everyone: tests only touch keys under their own prefix. */
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

export const uniquePrefix = (what = 't'): string => `parley-test:${what}:${process.pid}:${randomBytes(4).toString('hex')}:`;

async function reachable(url: string): Promise<boolean> {
  const c = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (c.isOpen) c.destroy();
  }
}

/** Redis is part of the test bed like PostgreSQL: unreachable is a failure, never a skip. */
export async function requireRedis(): Promise<void> {
  if (!(await reachable(REDIS_URL))) throw new Error(`Redis is required by this suite but ${REDIS_URL} is not reachable (set PARLEY_TEST_REDIS_URL)`);
}

/** Deletes every key under `prefix` (the suite's own). */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const c = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  c.on('error', () => {});
  await c.connect();
  try {
    for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await c.del(keys);
  } finally {
    c.destroy();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL: the clients see their connections reset. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  start(): Promise<void>;
  /** Runs a command through a fresh connection (CLIENT KILL and the like). */
  command(args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

/** A redis-server of the test's own, on its own port and directory, so it can be killed. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = ownDir(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-redis-')));
  const url = `redis://127.0.0.1:${port}`;
  let child: ReturnType<typeof spawn> | null = null;
  let started = false;
  const start = async () => {
    if (started) return;
    started = true;
    child = ownChild(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
    const deadline = Date.now() + 10_000;
    while (!(await reachable(url))) {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  const kill = async () => {
    if (child) await killChild(child);
    child = null;
    started = false;
  };
  return {
    url,
    port,
    kill,
    start,
    async command(args) {
      const c = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
      c.on('error', () => {});
      await c.connect();
      try {
        return await c.sendCommand(args);
      } finally {
        c.destroy();
      }
    },
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
