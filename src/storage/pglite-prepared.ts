import { type PGlite, parse, protocol, type Transaction } from '@electric-sql/pglite';
import { binaryArray } from './binary-arrays.ts';
import type { Settings, Statement } from './db.ts';
import { framed, unframed } from './pipeline-settings.ts';

const { serialize } = protocol;

/**
 * Named statements on PGlite (QueryOptions.name, Queryable.pipeline). PGlite's query() parses
 * and describes its statement again on every call, six exchanges with the engine for one
 * query; a statement prepared once under its name takes one (bind, describe, execute, sync),
 * and so do several run together under one Sync. Measured on the send batch's call shape
 * (nine text arrays of 14), 291 -> 103 µs of CPU per call. Arrays of the types
 * binary-arrays.ts writes go in binary, which the engine reads without parsing. Results are
 * parsed with the instance's own parsers, so rows look as query() makes them.
 */
export function preparedStatements(pg: PGlite) {
  /** Name -> its text and the parameter types PostgreSQL inferred for it. */
  const prepared = new Map<string, { text: string; types: number[] }>();

  async function prepare(name: string, text: string): Promise<number[]> {
    const known = prepared.get(name);
    if (known) {
      if (known.text !== text) throw new Error(`statement ${name} is prepared already, with another text`);
      return known.types;
    }
    const { messages } = await pg.execProtocol(Buffer.concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]));
    const types = parse.parseDescribeStatementResults(messages);
    prepared.set(name, { text, types });
    return types;
  }

  /** The statement's execution: its parameters written for the types it takes. */
  async function execution(name: string, text: string, params: unknown[]): Promise<Uint8Array[]> {
    const types = await prepare(name, text);
    const values = params.map((v, k) => {
      if (v === null || v === undefined) return null;
      const binary = Array.isArray(v) ? binaryArray(types[k], v) : null;
      if (binary) return binary;
      const serializer = pg.serializers[types[k]!];
      return serializer ? serializer(v) : String(v);
    });
    return [serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({})];
  }

  /**
   * Runs the statements as one exchange ending in one Sync, outside any transaction: they are
   * their own. It waits for PGlite's transaction and query locks as query() does, so it never
   * lands inside another caller's transaction.
   */
  const exchange = (statements: Statement[], rowMode?: 'array') =>
    pg._runExclusiveTransaction(() =>
      pg._runExclusiveQuery(async () => {
        const parts: Uint8Array[] = [];
        for (const s of statements) parts.push(...(await execution(s.name, s.text, s.params)));
        const { messages } = await pg.execProtocol(Buffer.concat([...parts, serialize.sync()]));
        return parse.parseResults(messages, pg.parsers, rowMode ? { rowMode } : undefined).map((r) => r.rows);
      }),
    );

  return {
    /** One named statement: its rows. */
    async query<R>(name: string, text: string, params: unknown[] = [], rowMode?: 'array'): Promise<R[]> {
      return ((await exchange([{ name, text, params }], rowMode))[0] ?? []) as R[];
    },
    async pipeline(statements: Statement[], settings?: Settings): Promise<unknown[][][]> {
      const run = framed(statements, settings, false);
      return unframed((await exchange(run.statements, 'array')) as unknown[][][], run.from, statements.length);
    },
  };
}

/**
 * A pipeline inside a PGlite transaction: its statements one by one, as query() runs them.
 * The transaction already keeps every other caller out; the prepared path would wait for
 * PGlite's transaction lock, which this transaction holds.
 */
export async function pipelineInTransaction(tx: PGlite | Transaction, statements: Statement[], settings?: Settings): Promise<unknown[][][]> {
  const run = framed(statements, settings, true);
  const results: unknown[][][] = [];
  for (const s of run.statements) results.push((await tx.query<unknown[]>(s.text, s.params, { rowMode: 'array' })).rows);
  return unframed(results, run.from, statements.length);
}
