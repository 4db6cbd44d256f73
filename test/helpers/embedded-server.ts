import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openPglite } from '../../src/storage/db-pglite.ts';
import { API_KEY, SECRET } from './harness.ts';
import { ensurePgliteTemplate } from './pglite-template.ts';
import { type ServerProcess, startServer } from './server-process.ts';

const dirs = new Set<string>();
// A cancelled or failed test file must not leave its data directories behind.
process.on('exit', () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A real Parley process in embedded mode (`npm start`'s entry point, PGlite in its own data
 * directory), with the test secret and API key. The directory starts from the migrated
 * template, which saves the child the ~4 s of initdb. `restart()` starts a new process on
 * the same directory (after `kill()`, a SIGKILL).
 */
export async function embeddedServer(env: Record<string, string> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-embedded-'));
  dirs.add(dataDir);
  const db = await openPglite({ dataDir: path.join(dataDir, 'pglite'), loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
  await db.close();
  const fullEnv = { PARLEY_DATA_DIR: dataDir, PARLEY_JWT_SECRET: SECRET, PARLEY_API_KEYS: API_KEY, PARLEY_RATE_LIMIT: 'off', ...env };
  let current: ServerProcess = await startServer(fullEnv);
  const portOf = (s: ServerProcess) => Number(new URL(s.url).port);
  return {
    dataDir,
    get url() {
      return current.url;
    },
    get port() {
      return portOf(current);
    },
    /** The server process's pid (that of `node` itself). */
    get pid() {
      return current.child.pid!;
    },
    kill: () => current.kill(),
    async restart() {
      await current.kill();
      current = await startServer(fullEnv);
      return portOf(current);
    },
    async close() {
      await current.kill();
      fs.rmSync(dataDir, { recursive: true, force: true });
      dirs.delete(dataDir);
    },
  };
}

export type EmbeddedServer = Awaited<ReturnType<typeof embeddedServer>>;
