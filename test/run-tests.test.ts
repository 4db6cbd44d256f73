import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { waitFor } from './helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIXTURE = 'test/fixtures/leaves-behind.fixture.ts';

/** Whether a process still runs: a zombie (ended, not yet reaped by whoever adopted it) does not. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
/** The runner killed it; the kernel may take a moment to show it. */
const gone = (pid: number) => waitFor(() => !alive(pid), 30_000, 'the process it started to be gone');

/** Runs `npm test`'s runner on the misbehaving fixture; answers its exit, output and what the fixture left. */
function runFixture(env: Record<string, string>, interrupt?: NodeJS.Signals) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'runner-test-')), 'left.json');
  const runner = spawn(process.execPath, ['scripts/run-tests.mjs', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, PARLEY_TEST_SKIP_TEMPLATE: '1', FIXTURE_OUT: out, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  runner.stdout.on('data', (d) => (output += d));
  runner.stderr.on('data', (d) => (output += d));
  // 'exit', not 'close': a process the runner failed to stop may hold its output open.
  const exited = new Promise<number | null>((resolve) => runner.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return (async () => {
    await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8').endsWith('}'), 60_000, 'the fixture to start');
    const left = JSON.parse(fs.readFileSync(out, 'utf8')) as { pid: number; dir: string };
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
    if (interrupt) runner.kill(interrupt);
    return { code: await exited, output: () => output, left };
  })();
}

/**
 * Issue 8 §7: no process or temporary directory outlives the run, even when a file is
 * killed at its deadline or the run itself is interrupted.
 */
describe('the test runner cleans up after every test file', () => {
  test('a file that ends leaving a process and a temporary directory: both are gone', async () => {
    const { code, left, output } = await runFixture({});
    assert.equal(code, 0, output());
    await gone(left.pid);
    assert.equal(fs.existsSync(left.dir), false, 'the temporary directory is removed');
    assert.match(output(), /left processes running; they were killed/);
  });

  test('a file past its deadline is killed with everything it started, and fails the run', async () => {
    const { code, left, output } = await runFixture({ FIXTURE_HANG: '1', PARLEY_TEST_FILE_TIMEOUT_MS: '3000' });
    assert.equal(code, 1, output());
    assert.match(output(), /leaves-behind\.fixture\.ts: killed after 3 s/);
    await gone(left.pid);
    assert.equal(fs.existsSync(left.dir), false, 'the temporary directory is removed');
  });

  test("a failed file's failures are printed again at the end of the run, before its totals", async () => {
    const { code, left, output } = await runFixture({ FIXTURE_FAIL: '1' });
    assert.equal(code, 1, output());
    assert.match(output(), /── failures of test\/fixtures\/leaves-behind\.fixture\.ts\n✖ failing tests:[\s\S]*the fixture fails on purpose[\s\S]*\nℹ files 1\n/);
    await gone(left.pid);
  });

  test('an interrupted run (SIGTERM) stops every file and what it started', async () => {
    const { code, left, output } = await runFixture({ FIXTURE_HANG: '1' }, 'SIGTERM');
    assert.equal(code, 143, output());
    await gone(left.pid);
    assert.equal(fs.existsSync(left.dir), false, 'the temporary directory is removed');
  });
});
