import type { Config } from '../config.ts';
import type { Db } from './db.ts';
import { openPglite } from './db-pglite.ts';
import { openPostgres } from './db-pg.ts';
import { migrate } from './migrate.ts';
import { createSqlStore } from './sql-store.ts';
import type { Store } from './store.ts';

/** PostgreSQL when DATABASE_URL is set, else PGlite in the data dir; migrated either way. */
export async function openStore(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'jobs'>): Promise<Store> {
  const db: Db = config.databaseUrl ? await openPostgres(config.databaseUrl) : await openPglite({ dataDir: `${config.dataDir}/pglite` });
  await migrate(db);
  return createSqlStore(db, { jobs: config.jobs });
}
