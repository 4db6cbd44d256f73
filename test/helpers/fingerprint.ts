import fs from 'node:fs';
import type { Db } from '../../src/storage/db.ts';
import { openPglite } from '../../src/storage/db-pglite.ts';
import { openPostgres } from '../../src/storage/db-pg.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createSqlStore } from '../../src/storage/sql-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { type Backend, throwawayDatabase } from './backends.ts';
import { ensurePgliteTemplate } from './pglite-template.ts';

/** A fresh, migrated store whose Db the test holds too, for raw fingerprint queries. */
export interface OwnedStore {
  store: Store;
  db: Db;
  close(): Promise<void>;
}

/** Mirrors backends.ts, but keeps the Db (a Store does not expose it). */
export async function openOwnedStore(backend: Pick<Backend, 'name'>): Promise<OwnedStore> {
  if (backend.name === 'pglite') {
    const db = await openPglite({ loadDataDir: new Blob([fs.readFileSync(await ensurePgliteTemplate())]) });
    await migrate(db);
    const store = createSqlStore(db);
    return { store, db, close: () => store.close() };
  }
  const database = await throwawayDatabase();
  const db = await openPostgres(database.url, { max: 10 });
  await migrate(db);
  const store = createSqlStore(db);
  return {
    store,
    db,
    async close() {
      await store.close();
      await database.drop();
    },
  };
}

/**
 * The whole content of the database, one line per table: its row count and an md5 of
 * every row's text. Any insert, update or delete in any table changes it (last_seq,
 * markers, archived_seq, updated_at included), so "nothing was written" is exact.
 */
export async function fingerprint(db: Db): Promise<Record<string, string>> {
  const tables = await db.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`,
  );
  const rows = await Promise.all(
    tables.map(async ({ name }) => {
      const [r] = await db.query<{ n: number; h: string }>(
        `SELECT count(*)::int AS n, coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') AS h FROM "${name}" t`,
      );
      return [name, `${r!.n} rows ${r!.h}`] as const;
    }),
  );
  return Object.fromEntries(rows);
}

/** The tables whose content differs between two fingerprints. */
export function changedTables(a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((t) => a[t] !== b[t]).sort();
}
