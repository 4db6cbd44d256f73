import type { Config } from '../config.ts';
import type { Db } from './db.ts';
import { openPgliteThread } from './db-pglite-thread.ts';
import { openPostgres } from './db-pg.ts';
import { migrate } from './migrate.ts';
import { createJobQueue } from './pgboss.ts';
import { createSqlStore } from './sql-store.ts';
import type { Store } from './store.ts';

/** A start-up phase done: its name, how long it took, and what there is to say about it. */
export type OnPhase = (phase: 'storage' | 'migrations', ms: number, detail: Record<string, unknown>) => void;

/**
 * PostgreSQL when DATABASE_URL is set, else PGlite in the data dir, in a worker thread so its
 * queries and commits never stall the sockets; migrated either way.
 */
export async function openStore(config: Pick<Config, 'databaseUrl' | 'dbPoolSize' | 'dataDir' | 'jobs' | 'embeddedVacuumIntervalMs' | 'sendLingerMs'>, onPhase: OnPhase = () => {}): Promise<Store> {
  let t = performance.now();
  const open = () => (config.databaseUrl ? openPostgres(config.databaseUrl, { max: config.dbPoolSize }) : openPgliteThread({ dataDir: `${config.dataDir}/pglite` }));
  let db: Db = await open();
  onPhase('storage', performance.now() - t, { engine: db.engine });
  t = performance.now();
  const applied = await migrate(db);
  if (db.engine === 'pglite' && applied.length) {
    // Schema changes grow PGlite's WebAssembly heap, which is never given back: after them
    // (and the job queue's own schema), reopen, so the process idles at its restart size.
    const jobs = createJobQueue(db, config.jobs);
    await jobs.start();
    await jobs.stop();
    await db.close();
    db = await open();
  }
  onPhase('migrations', performance.now() - t, { applied });
  return createSqlStore(db, { jobs: config.jobs, vacuumIntervalMs: config.embeddedVacuumIntervalMs, sendLingerMs: config.sendLingerMs });
}
