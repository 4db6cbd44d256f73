// Builds what `npm start` serves but the repository does not hold: the web app (web/ to
// web/dist, with gzip and brotli twins of every text file), the server compiled to
// JavaScript (scripts/build-server.mjs), and the embedded database's initialised cluster
// (scripts/pglite-initdb.mjs). Run by `npm install`
// (postinstall) and before `npm start` (prestart, with --if-stale: a no-op unless a source
// changed since the last build, so a start after `git pull` serves the new app). With
// --soft a web app that fails to build is reported and the install or start goes on.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { buildServer } from './build-server.mjs';
import { buildInitdbTemplate } from './pglite-initdb.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const WEB = path.join(ROOT, 'web');
const DIST = path.join(WEB, 'dist');
const STAMP = path.join(DIST, '.stamp');
// Everything the bundle is made from: a change in any of these makes a new build.
const SOURCES = ['web', 'client', 'protocol', 'package-lock.json'];
const SKIP = new Set(['dist', 'node_modules']);

function hashSources() {
  const hash = createHash('sha256');
  const visit = (rel) => {
    const full = path.join(ROOT, rel);
    if (!fs.existsSync(full)) return;
    const stat = fs.statSync(full);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) if (!SKIP.has(name)) visit(path.join(rel, name));
    } else {
      hash.update(rel).update('\0').update(fs.readFileSync(full)).update('\0');
    }
  };
  for (const s of SOURCES) visit(s);
  return hash.digest('hex');
}

function compressTwins(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) compressTwins(full);
    else if (/\.(js|css|html|svg|json|webmanifest|txt)$/.test(entry.name)) {
      const body = fs.readFileSync(full);
      fs.writeFileSync(`${full}.gz`, zlib.gzipSync(body, { level: 9 }));
      fs.writeFileSync(`${full}.br`, zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
    }
  }
}

export async function buildWeb({ ifStale = false, quiet = false } = {}) {
  const stamp = hashSources();
  if (ifStale && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8') === stamp) return false;
  let vite;
  try {
    vite = await import('vite');
  } catch {
    console.warn('scripts/build.mjs: vite is not installed, the web app is not built (run npm install)');
    return false;
  }
  const started = Date.now();
  await vite.build({ configFile: path.join(WEB, 'vite.config.ts'), logLevel: quiet ? 'warn' : 'info' });
  compressTwins(DIST);
  fs.writeFileSync(STAMP, stamp);
  if (!quiet) console.log(`web app built into ${path.relative(ROOT, DIST)} in ${Date.now() - started} ms`);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flag = (name) => process.argv.includes(name);
  const ifStale = flag('--if-stale');
  const quiet = flag('--quiet');
  try {
    await buildWeb({ ifStale, quiet });
  } catch (err) {
    // --soft (install and start): a broken web app must not stop the server from
    // installing or starting; the API works, and / says the app is not built.
    console.error(`scripts/build.mjs: the web app did not build: ${err?.message ?? err}`);
    if (!flag('--soft')) process.exit(1);
  }
  // What `npm start` runs: the server compiled to JavaScript (scripts/build-server.mjs).
  await buildServer({ ifStale, quiet });
  // The embedded database's first start loads this instead of running initdb (built once per PGlite version).
  await buildInitdbTemplate({ quiet });
}
