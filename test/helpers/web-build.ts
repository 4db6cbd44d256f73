import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The built web app, as `npm install` leaves it. scripts/run-tests.mjs builds it before
 * any test file starts; this only rebuilds when a source changed since (a single file run
 * straight through `node --test`).
 */
export function ensureWebBuilt(): string {
  const run = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`web build failed:\n${run.stdout}\n${run.stderr}`);
  const dist = path.join(ROOT, 'web/dist');
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('web/dist/index.html is missing after the build');
  return dist;
}
