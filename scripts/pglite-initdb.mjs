// A freshly initialised PGlite cluster, dumped once at install (scripts/build.mjs), so the
// first `npm start` loads it (about a second) instead of running initdb (several seconds,
// and a WebAssembly heap grown to ~600 MB that is never given back). Keyed by the PGlite
// version: an upgrade makes a new one. src/storage/db-pglite.ts reads it from this path.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

export function initdbTemplatePath() {
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')).version;
  return path.join(ROOT, 'node_modules', '.cache', 'parley', `pglite-initdb-${version}.tgz`);
}

export async function buildInitdbTemplate({ quiet = false } = {}) {
  const file = initdbTemplatePath();
  if (fs.existsSync(file)) return false;
  const started = Date.now();
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create();
  const dump = Buffer.from(await (await pg.dumpDataDir('gzip')).arrayBuffer());
  await pg.close();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.${process.pid}`, dump);
  fs.renameSync(`${file}.${process.pid}`, file); // atomic: a concurrent start never reads half a file
  if (!quiet) console.log(`PGlite cluster template in ${path.relative(ROOT, file)} (${Date.now() - started} ms)`);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) await buildInitdbTemplate({ quiet: process.argv.includes('--quiet') });
