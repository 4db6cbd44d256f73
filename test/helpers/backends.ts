import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { openPglite } from '../../src/storage/db-pglite.ts';
import { openPostgres } from '../../src/storage/db-pg.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createSqlStore } from '../../src/storage/sql-store.ts';
import type { Db } from '../../src/storage/db.ts';
import type { Store } from '../../src/storage/store.ts';
import type { JobQueueOptions } from '../../src/storage/pgboss.ts';
import { ensurePgliteTemplate } from './pglite-template.ts';

export interface StoreOptions {
  jobs?: JobQueueOptions;
  /** Wraps the database the store is built on (counting-db.ts counts its statements). */
  wrapDb?: (db: Db) => Db;
  /** How long an idle send batcher waits for company (PARLEY_SEND_LINGER_MS). */
  sendLingerMs?: number;
}

/** A store for tests, with its database at hand (to move a delayed job's due time, say). */
export type TestStore = Store & { query: Db['query']; pipeline: Db['pipeline'] };

/** A storage engine the shared suites run against. */
export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated, empty store; closing it removes what it created. */
  openStore(opts?: StoreOptions): Promise<TestStore>;
}

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const PG_URL = process.env.PARLEY_TEST_DATABASE_URL || DEFAULT_PG_URL;

const pglite: Backend = {
  name: 'pglite',
  async openStore(opts = {}) {
    const template = fs.readFileSync(await ensurePgliteTemplate());
    const db = await openPglite({ loadDataDir: new Blob([template]) });
    await migrate(db);
    return { ...createSqlStore(opts.wrapDb?.(db) ?? db, opts), query: db.query, pipeline: db.pipeline };
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
    const store = createSqlStore(opts.wrapDb?.(db) ?? db, opts);
    return {
      ...store,
      query: db.query,
      pipeline: db.pipeline,
      async close() {
        await store.close();
        await database.drop();
      },
    };
  },
};

/**
 * Whether the test PostgreSQL answers. Nothing listening (refused, unknown host) is an
 * answer at once; a slow answer is not: on a busy machine a connection can take seconds,
 * so the probe retries until PROBE_DEADLINE_MS before calling the server unreachable.
 */
const PROBE_DEADLINE_MS = 60_000;
async function postgresReachable(url: string): Promise<{ ok: true } | { ok: false; why: string }> {
  const deadline = Date.now() + PROBE_DEADLINE_MS;
  for (;;) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    try {
      await c.connect();
      await c.end();
      return { ok: true };
    } catch (err) {
      await c.end().catch(() => {});
      const code = (err as { code?: string }).code;
      const why = `${code ?? ''} ${(err as Error).message}`.trim();
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || Date.now() > deadline) return { ok: false, why };
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * PGlite always; PostgreSQL when reachable. In CI, or when PARLEY_TEST_DATABASE_URL names
 * a server, an unreachable PostgreSQL fails the file loudly, never a silent skip; on a
 * developer machine without it the suites run on PGlite alone and say so.
 */
export async function resolveBackends(env: Record<string, string | undefined> = process.env): Promise<{ backends: Backend[]; skippedPostgres: string | null }> {
  const url = env.PARLEY_TEST_DATABASE_URL || DEFAULT_PG_URL;
  const probe = await postgresReachable(url);
  if (probe.ok) return { backends: [pglite, postgres], skippedPostgres: null };
  if (env.CI || env.PARLEY_TEST_DATABASE_URL) throw new Error(`PostgreSQL is required (${env.CI ? 'CI is set' : 'PARLEY_TEST_DATABASE_URL is set'}) but ${url} is not reachable: ${probe.why}`);
  return { backends: [pglite], skippedPostgres: `PostgreSQL not reachable at ${url} (set PARLEY_TEST_DATABASE_URL): ${probe.why}` };
}

export const { backends, skippedPostgres } = await resolveBackends();
export { pglite as pgliteBackend, postgres as postgresBackend };
