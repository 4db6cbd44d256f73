// Runs test files (every test/**/*.test.ts, or those named) with Node's test runner
// through tsx, two at a time, after building the migrated PGlite template and the web app
// once (PARLEY_TEST_SKIP_TEMPLATE skips both).
//
// Nothing a test file starts outlives it: each file runs as the leader of its own process
// group, and whatever is left in that group when it ends (a server it started, a worker)
// is killed; each file gets its own TMPDIR inside this run's directory, removed when the
// file ends and, with the run's directory, when the run ends. A file that runs past
// PARLEY_TEST_FILE_TIMEOUT_MS (default 20 min) is killed, group and all, and fails. The
// same cleanup runs when this runner is interrupted (SIGINT, SIGTERM, SIGHUP).
//
// Usage: node scripts/run-tests.mjs [file ...] [--node-test-flag ...]
//   PARLEY_TEST_CONCURRENCY   files at a time (default 2)
//   PARLEY_TEST_FILE_TIMEOUT_MS  one file's deadline (default 1,200,000)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const FILE_TIMEOUT_MS = Number(process.env.PARLEY_TEST_FILE_TIMEOUT_MS) || 20 * 60_000;
const CONCURRENCY = Number(process.env.PARLEY_TEST_CONCURRENCY) || 2;
/** After SIGTERM, how long a group gets to clean up (drop its databases) before SIGKILL. */
const GRACE_MS = 3000;

const find = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const named = args.filter((a) => !a.startsWith('--'));
const files = named.length ? named : find(path.join(ROOT, 'test')).map((f) => path.relative(ROOT, f)).sort();

// tsx caches compiled files under os.tmpdir()/tsx-<uid>: every file's TMPDIR links to one
// cache, so no file compiles the sources again.
const baseTmp = os.tmpdir();
const TSX_DIR = `tsx-${process.geteuid?.() ?? os.userInfo().username}`;
const tsxCache = path.join(baseTmp, TSX_DIR);
fs.mkdirSync(tsxCache, { recursive: true });
const runDir = fs.mkdtempSync(path.join(baseTmp, 'parley-test-'));
const running = new Map(); // pid -> { file, dir }

function tmpFor(name) {
  const dir = fs.mkdtempSync(path.join(runDir, `${name.replace(/[^\w.-]+/g, '_')}-`));
  fs.symlinkSync(tsxCache, path.join(dir, TSX_DIR));
  return dir;
}

/** The live processes of a group (zombies, already ended, left out): pid and command. */
const members = (pgid) =>
  spawnSync('ps', ['-o', 'pid=,stat=,args=', '-g', String(pgid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, stat]) => pid && !stat?.startsWith('Z'))
    .map(([pid, , ...args]) => `${pid} ${args.join(' ')}`.slice(0, 160));
const alive = (pgid) => {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  return members(pgid).length > 0;
};
const signalGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {}
};

/** SIGTERM to the group, SIGKILL to what is left after the grace period. */
async function endGroup(pid) {
  if (!alive(pid)) return false;
  signalGroup(pid, 'SIGTERM');
  for (let waited = 0; waited < GRACE_MS && alive(pid); waited += 50) await new Promise((r) => setTimeout(r, 50));
  signalGroup(pid, 'SIGKILL');
  return true;
}

/** Runs one command as the leader of a new process group in its own TMPDIR; answers its exit and output. */
function runInGroup(name, argv, { stream }) {
  const dir = tmpFor(name);
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, TMPDIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.set(child.pid, { name, dir });
  let output = '';
  const collect = (to) => (d) => {
    output += d;
    if (stream) to.write(d);
  };
  child.stdout.on('data', collect(process.stdout));
  child.stderr.on('data', collect(process.stderr));
  const started = Date.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(child.pid, 'SIGTERM');
    setTimeout(() => signalGroup(child.pid, 'SIGKILL'), GRACE_MS).unref();
  }, FILE_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      // The leader is gone; whatever it left in its group goes too (helpers such as
      // esbuild's service exit by themselves when their parent does: a moment for them).
      for (let waited = 0; waited < 1000 && alive(child.pid); waited += 50) await new Promise((r) => setTimeout(r, 50));
      const leftovers = alive(child.pid) ? members(child.pid) : null;
      if (leftovers) await endGroup(child.pid);
      running.delete(child.pid);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, output, timedOut, leftovers, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/**
 * Set by the first SIGINT, SIGTERM or SIGHUP: stops every running file's group and answers
 * the run's exit code. The files it stops end meanwhile and main() sees them end, so the
 * run exits with this code, not main()'s, whichever finishes first.
 */
let interruption = null;
function interrupt(signal) {
  interruption ??= (async () => {
    process.stderr.write(`\n${signal}: stopping ${running.size} test file(s) and their processes\n`);
    await Promise.all([...running.keys()].map(endGroup));
    return signal === 'SIGINT' ? 130 : 143;
  })();
  void interruption.then(finish);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => interrupt(signal));
process.on('exit', () => {
  for (const pid of running.keys()) signalGroup(pid, 'SIGKILL');
  fs.rmSync(runDir, { recursive: true, force: true });
});

/** A failed file's failures as its reporter summed them up at its end, or else its last lines. */
const RECAP_CHARS = 8000;
function failureRecap(output) {
  const at = output.lastIndexOf('✖ failing tests:');
  const text = at >= 0 ? output.slice(at) : output.split('\n').slice(-60).join('\n');
  return text.length > RECAP_CHARS ? `${text.slice(0, RECAP_CHARS)}\n… (the rest is in the file's output above)` : text;
}

const count = (output, label) => Number(new RegExp(`^ℹ ${label} (\\d+)$`, 'm').exec(output)?.[1] ?? 0);

async function main() {
  if (!process.env.PARLEY_TEST_SKIP_TEMPLATE) {
    const prep = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/pglite-template.ts'], { cwd: ROOT, stdio: 'inherit' });
    if (prep.status !== 0) process.exit(prep.status ?? 1);
    // The browser and serving tests use the built web app; build it once here, not per file.
    const web = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
    if (web.status !== 0) process.exit(web.status ?? 1);
  }
  const totals = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0 };
  const broken = [];
  const stream = files.length === 1;
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file && !interruption; file = queue.shift()) {
      // --test-force-exit: once a file's tests and hooks have finished, it exits even if a
      // handle lingers (a client's reconnect timer, say), instead of waiting for the deadline;
      // anything it started is still found and killed with its process group below, and a
      // ref'd interval left running is reported with where it was made (lingering-intervals.ts).
      const r = await runInGroup(path.basename(file), ['--import', 'tsx', '--import', './test/helpers/lingering-intervals.ts', '--test-reporter=spec', '--test-force-exit', ...flags, file], { stream });
      if (interruption) return;
      if (!stream) process.stdout.write(`\n── ${file} (${r.seconds.toFixed(1)} s)\n${r.output}`);
      for (const k of Object.keys(totals)) totals[k] += count(r.output, k);
      const why = r.timedOut
        ? `killed after ${FILE_TIMEOUT_MS / 1000} s (PARLEY_TEST_FILE_TIMEOUT_MS)`
        : r.code !== 0
          ? `exited with ${r.code ?? r.signal}`
          : null;
      if (why) broken.push({ file, why, recap: failureRecap(r.output) });
      if (r.leftovers) process.stderr.write(`warning: ${file} left processes running; they were killed:\n  ${r.leftovers.join('\n  ')}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
  if (interruption) return interruption;
  // A long run's log is often read from its end: each failed file's failures again, there.
  for (const b of broken) console.log(`\n── failures of ${b.file}\n${b.recap}`);
  console.log(`\nℹ files ${files.length}`);
  for (const [k, v] of Object.entries(totals)) console.log(`ℹ ${k} ${v}`);
  for (const b of broken) console.log(`✖ ${b.file}: ${b.why}`);
  // Failed files that reported no failing test (a crash, a kill) still count as failures.
  const failed = Math.max(totals.fail + totals.cancelled, broken.length);
  console.log(`${totals.pass} passed, ${failed} failed`);
  return broken.length || failed ? 1 : 0;
}

function finish(code) {
  fs.rmSync(runDir, { recursive: true, force: true });
  process.exit(code);
}
finish(await main());
