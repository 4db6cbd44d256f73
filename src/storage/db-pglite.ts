import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { type Db, INT8_OID, type Queryable } from './db.ts';

export interface PgliteOptions {
  /** Directory for the data files; omitted means in memory. */
  dataDir?: string;
  /** A dumped, already-migrated data dir (see dumpPglite) to start from: far faster than initdb. */
  loadDataDir?: Blob;
}

export async function openPglite(opts: PgliteOptions = {}): Promise<Db & { dump(): Promise<Blob> }> {
  if (opts.dataDir) fs.mkdirSync(opts.dataDir, { recursive: true });
  const pg = await PGlite.create({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    parsers: { [INT8_OID]: (v: string) => Number(v) },
  });
  const wrap = (q: { query: PGlite['query']; exec: PGlite['exec'] }): Queryable => ({
    async query<R>(text: string, params?: unknown[]) {
      return (await q.query<R>(text, params)).rows;
    },
    async exec(text: string) {
      return ((await q.exec(text)).at(-1)?.rows ?? []) as Record<string, unknown>[];
    },
  });
  return {
    engine: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
    dump: () => pg.dumpDataDir('gzip'),
  };
}
