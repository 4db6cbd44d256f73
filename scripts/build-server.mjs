// Compiles the server (src/, protocol/) into JavaScript, dist/server/main.mjs (and the
// PGlite worker thread's pglite-worker.mjs beside it), that `npm start` runs: no TypeScript loader at every start (tsx's loader thread cost ~70 MB of
// idle memory and a few seconds of start-up). Dependencies stay in node_modules. Run by
// scripts/build.mjs at install and, when a source changed, before `npm start`.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT_DIR = path.join(ROOT, 'dist', 'server');
const OUT = path.join(OUT_DIR, 'main.mjs');
const STAMP = path.join(OUT_DIR, '.stamp');
const SOURCES = ['src', 'protocol', 'package-lock.json', 'scripts/build-server.mjs'];

function hashSources() {
  const hash = createHash('sha256');
  const visit = (rel) => {
    const full = path.join(ROOT, rel);
    if (!fs.existsSync(full)) return;
    if (fs.statSync(full).isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) visit(path.join(rel, name));
    } else hash.update(rel).update('\0').update(fs.readFileSync(full)).update('\0');
  };
  for (const s of SOURCES) visit(s);
  return hash.digest('hex');
}

/** Files whose import.meta means the bundle itself: the PGlite thread starts its worker beside it. */
const BUNDLE_RELATIVE = new Set(['src/storage/db-pglite-thread.ts']);

/**
 * Source files find their assets beside them (migrations, the GraphQL SDL, the web app)
 * through import.meta: in the bundle each one is made to point at its own source file
 * again, relative to the bundle, so the checkout may move.
 */
const keepModuleLocation = {
  name: 'keep-module-location',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      let text = await fs.promises.readFile(args.path, 'utf8');
      if (text.includes('import.meta.') && !BUNDLE_RELATIVE.has(path.relative(ROOT, args.path))) {
        const rel = path.relative(OUT_DIR, args.path).split(path.sep).join('/');
        const url = `new URL(${JSON.stringify(rel)}, import.meta.url)`;
        text = text
          .replaceAll('import.meta.url', `${url}.href`)
          .replaceAll('import.meta.dirname', `decodeURIComponent(new URL('.', ${url}).pathname).replace(/\\/$/, '')`)
          .replaceAll('import.meta.filename', `decodeURIComponent(${url}.pathname)`);
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

export async function buildServer({ ifStale = false, quiet = false } = {}) {
  const stamp = hashSources();
  if (ifStale && fs.existsSync(OUT) && fs.existsSync(path.join(OUT_DIR, 'pglite-worker.mjs')) && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8') === stamp) return false;
  const started = Date.now();
  const esbuild = await import('esbuild');
  await esbuild.build({
    // The PGlite worker is an entry of its own, started by the bundle from beside it.
    entryPoints: [path.join(ROOT, 'src', 'main.ts'), path.join(ROOT, 'src', 'storage', 'pglite-worker.ts')],
    outdir: OUT_DIR,
    entryNames: '[name]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [keepModuleLocation],
  });
  fs.writeFileSync(STAMP, stamp);
  if (!quiet) console.log(`server built into ${path.relative(ROOT, OUT)} in ${Date.now() - started} ms`);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) await buildServer({ ifStale: process.argv.includes('--if-stale'), quiet: process.argv.includes('--quiet') });
