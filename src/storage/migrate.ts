import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
// Any constant: every instance of a cluster takes the same lock, so one migrates at a time.
const LOCK_KEY = 72_616_379;

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** Numbered, forward-only SQL files: `001_init.sql`, `002_...sql`. */
export function listMigrations(): Migration[] {
  return fs
    .readdirSync(DIR)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: Number(f.slice(0, 3)), name: f, sql: fs.readFileSync(path.join(DIR, f), 'utf8') }));
}

/**
 * Applies every migration not yet applied, in one transaction under an advisory lock:
 * instances of a cluster starting together wait for each other, and Postgres DDL being
 * transactional, a failed upgrade leaves the schema as it was.
 */
export async function migrate(db: Db): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS parley_migrations (
      id int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ id: number }>('SELECT id FROM parley_migrations')).map((r) => r.id));
    const applied: string[] = [];
    for (const m of listMigrations()) {
      if (done.has(m.id)) continue;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO parley_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      applied.push(m.name);
    }
    return applied;
  });
}

/** True when every migration this code knows has been applied (the /ready check). */
export async function isMigrated(db: Db): Promise<boolean> {
  const rows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM parley_migrations WHERE id = ANY($1::int[])`,
    [listMigrations().map((m) => m.id)],
  );
  return rows[0]?.n === listMigrations().length;
}

/**
 * Statements end with `;` at a line end. Inside a `$$ ... $$` body (plpgsql) they do not:
 * every line holding an odd number of `$$` opens or closes one.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  let inBody = false;
  for (const line of sql.split('\n')) {
    if (!inBody && /^\s*--/.test(line)) continue;
    current.push(line);
    if ((line.match(/\$\$/g)?.length ?? 0) % 2 === 1) inBody = !inBody;
    if (!inBody && /;\s*$/.test(line)) {
      statements.push(current.join('\n').trim().replace(/;$/, ''));
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest) statements.push(rest);
  return statements.filter(Boolean);
}
