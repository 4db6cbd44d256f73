import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { type Db, INT8_OID, type Queryable, type QueryOptions, type Settings, type Statement } from './db.ts';
import { pipelineInTransaction, preparedStatements } from './pglite-prepared.ts';

export interface PgliteOptions {
  /** Directory for the data files; omitted means in memory. */
  dataDir?: string;
  /** A dumped, already-migrated data dir (see dumpPglite) to start from: far faster than initdb. */
  loadDataDir?: Blob;
}

/**
 * Postgres's 128 MB default cache is sized for a server of its own; embedded, it is most of
 * the process's idle memory. 32 MB keeps a working set of this size in memory.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

/** The initialised cluster dumped at install (scripts/pglite-initdb.mjs), when there is one. */
function initdbTemplate(): Blob | null {
  try {
    const modules = path.resolve(import.meta.dirname, '../../node_modules');
    const { version } = JSON.parse(fs.readFileSync(path.join(modules, '@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
    const file = path.join(modules, '.cache', 'parley', `pglite-initdb-${version}.tgz`);
    return fs.existsSync(file) ? new Blob([fs.readFileSync(file)]) : null;
  } catch {
    return null;
  }
}

/** PGlite as Parley runs it, in process or in its worker thread (pglite-worker.ts). */
export async function createPglite(opts: PgliteOptions = {}): Promise<PGlite> {
  if (opts.dataDir) fs.mkdirSync(opts.dataDir, { recursive: true });
  // A new data directory starts from the installed template rather than from initdb.
  const fresh = opts.dataDir && !opts.loadDataDir && !fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'));
  const loadDataDir = opts.loadDataDir ?? (fresh ? initdbTemplate() : null);
  return PGlite.create({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
    startParams: START_PARAMS,
    parsers: { [INT8_OID]: (v: string) => Number(v) },
  });
}

export async function openPglite(opts: PgliteOptions = {}): Promise<Db & { dump(): Promise<Blob> }> {
  const pg = await createPglite(opts);
  const prepared = preparedStatements(pg);
  const wrap = (q: PGlite | Transaction, inTransaction: boolean): Queryable => ({
    async query<R>(text: string, params?: unknown[], options?: QueryOptions) {
      if (options?.name && !inTransaction) return prepared.query<R>(options.name, text, params, options.rowMode);
      return (await q.query<R>(text, params, options?.rowMode ? { rowMode: options.rowMode } : undefined)).rows;
    },
    async exec(text: string) {
      return ((await q.exec(text)).at(-1)?.rows ?? []) as Record<string, unknown>[];
    },
    pipeline: (statements: Statement[], settings?: Settings) =>
      inTransaction ? pipelineInTransaction(q, statements, settings) : prepared.pipeline(statements, settings),
    oneAtATime: true,
  });
  return {
    engine: 'pglite',
    ...wrap(pg, false),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx, true))),
    close: () => pg.close(),
    dump: () => pg.dumpDataDir('gzip'),
  };
}
