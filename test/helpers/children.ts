import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/**
 * Servers and temporary directories a test file made, removed however the file ends: at
 * exit, and on SIGTERM/SIGINT (a cancelled file), so no redis-server, postgres or Parley
 * outlives its test.
 */
const children = new Set<ChildProcess>();
const dirs = new Set<string>();

function cleanup() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    cleanup();
    process.exit(signal === 'SIGTERM' ? 143 : 130);
  });
}

export function ownChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function ownDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function killChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const done = exited(child);
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await done;
}
