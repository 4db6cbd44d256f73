import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { exited, ownChild } from './helpers/children.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * The first /metrics scrape changes no object shape the server's optimized code relies on.
 * prom-client keeps each value in an object literal { value, labels }, and the first
 * fractional value stored in one (CPU seconds) changes that field's representation for every
 * object of that shape in the process, deoptimizing the code compiled against it: under
 * load, about twenty of the send path's functions at once (issue 9). The app renders its
 * metrics once while it starts, before any of its code is hot. Checked in a process of its
 * own, where V8's intrinsics say whether a function is optimized.
 */
test('the first scrape leaves code optimized before it optimized', async () => {
  const child = ownChild(
    spawn(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', 'test/fixtures/first-scrape.fixture.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await exited(child);
  assert.equal(child.exitCode, 0, out);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, out);
  assert.deepEqual(JSON.parse(line), { scrape: 200, before: true, after: true });
});
