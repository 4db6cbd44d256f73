import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { openPglite } from '../../src/storage/db-pglite.ts';
import { openPostgres } from '../../src/storage/db-pg.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createSqlStore } from '../../src/storage/sql-store.ts';
import type { Store } from '../../src/storage/store.ts';
import type { JobQueueOptions } from '../../src/storage/pgboss.ts';
import { ensurePgliteTemplate } from './pglite-template.ts';

export interface StoreOptions {
  jobs?: JobQueueOptions;
}

/** A storage engine the shared suites run against. */
export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated, empty store; closing it removes what it created. */
  openStore(opts?: StoreOptions): Promise<Store>;
}

export const PG_URL = process.env.PARLEY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

const pglite: Backend = {
  name: 'pglite',
  async openStore(opts = {}) {
    const template = fs.readFileSync(await ensurePgliteTemplate());
    const db = await openPglite({ loadDataDir: new Blob([template]) });
    await migrate(db);
    return createSqlStore(db, opts);
  },
};

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A new, empty database on the test server, for one store; `drop` removes it. */
export async function throwawayDatabase(prefix = 'parley_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const postgres: Backend = {
  name: 'postgres',
  async openStore(opts = {}) {
    const database = await throwawayDatabase();
    const db = await openPostgres(database.url, { max: 10 });
    await migrate(db);
    const store = createSqlStore(db, opts);
    return {
      ...store,
      async close() {
        await store.close();
        await database.drop();
      },
    };
  },
};

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * PGlite always; PostgreSQL when reachable. In CI an unreachable PostgreSQL is a failure,
 * never a silent skip; on a developer machine without it the suites run on PGlite alone.
 */
export async function resolveBackends(): Promise<{ backends: Backend[]; skippedPostgres: string | null }> {
  if (await postgresReachable()) return { backends: [pglite, postgres], skippedPostgres: null };
  if (process.env.CI) throw new Error(`PostgreSQL is required in CI but ${PG_URL} is not reachable`);
  return { backends: [pglite], skippedPostgres: `PostgreSQL not reachable at ${PG_URL} (set PARLEY_TEST_DATABASE_URL)` };
}

export const { backends, skippedPostgres } = await resolveBackends();
export { pglite as pgliteBackend, postgres as postgresBackend };
