import pg from 'pg';
import type { Queryable, QueryOptions, Settings, Statement } from './db.ts';
import { pipelineStatements, runPipeline, type Types } from './pg-pipeline-query.ts';
import { framed, unframed } from './pipeline-settings.ts';

/**
 * A node-postgres pool or client as Parley's Queryable. A client is one checked out for a
 * transaction (db-pg.ts): a pipeline on it runs inside that transaction.
 */
export const queryableOf = (q: pg.Pool | pg.ClientBase, types: Types): Queryable => ({
  async query<R>(text: string, params?: unknown[], opts?: QueryOptions) {
    if (opts?.rowMode) return (await q.query({ ...(opts.name ? { name: opts.name } : {}), rowMode: 'array', text, values: params })).rows as R[];
    return (await (opts?.name ? q.query({ name: opts.name, text, values: params }) : q.query(text, params))).rows as R[];
  },
  async exec(text: string) {
    // Without parameters pg uses the simple protocol: one result per statement.
    const results = (await q.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
    return (Array.isArray(results) ? (results.at(-1)?.rows ?? []) : results.rows) as Record<string, unknown>[];
  },
  async pipeline(statements: Statement[], settings?: Settings) {
    const inTransaction = !(q instanceof pg.Pool);
    const run = framed(statements, settings, inTransaction);
    const written = pipelineStatements(run.statements);
    if (inTransaction) return unframed(await runPipeline(q as pg.ClientBase, written, types), run.from, statements.length);
    const client = await q.connect();
    let broken: Error | undefined;
    try {
      return unframed(await runPipeline(client, written, types), run.from, statements.length);
    } catch (err) {
      // A connection lost mid-exchange must not go back to the pool.
      if (!(err instanceof Error && 'severity' in err)) broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  },
});
