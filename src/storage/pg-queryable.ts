import type pg from 'pg';
import type { Queryable, QueryOptions } from './db.ts';

/** A node-postgres pool or client as Parley's Queryable. */
export const queryableOf = (q: pg.Pool | pg.ClientBase): Queryable => ({
  async query<R>(text: string, params?: unknown[], opts?: QueryOptions) {
    if (opts?.rowMode) return (await q.query({ ...(opts.name ? { name: opts.name } : {}), rowMode: 'array', text, values: params })).rows as R[];
    return (await (opts?.name ? q.query({ name: opts.name, text, values: params }) : q.query(text, params))).rows as R[];
  },
  async exec(text: string) {
    // Without parameters pg uses the simple protocol: one result per statement.
    const results = (await q.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
    return (Array.isArray(results) ? (results.at(-1)?.rows ?? []) : results.rows) as Record<string, unknown>[];
  },
});
