// Runs every test file under test/ with Node's test runner (through tsx), after building
// the migrated PGlite template once so test processes load it instead of running initdb.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const find = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });

const only = process.argv.slice(2);
const files = only.length ? only : find('test').sort();
const prep = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/pglite-template.ts'], { stdio: 'inherit' });
if (prep.status !== 0) process.exit(prep.status ?? 1);
const run = spawnSync(
  process.execPath,
  // A per-test deadline: a hung test fails with its name instead of stalling the run.
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
