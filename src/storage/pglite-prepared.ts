import { type PGlite, parse, protocol } from '@electric-sql/pglite';
import { binaryArray } from './binary-arrays.ts';

const { serialize } = protocol;


/**
 * Named statements on PGlite (QueryOptions.name). PGlite's query() parses and describes its
 * statement again on every call, six exchanges with the engine for one query; a statement
 * prepared once under its name takes one (bind, describe, execute, sync). Measured on the
 * send batch's call shape (nine text arrays of 14), 291 -> 103 µs of CPU per call. Arrays of
 * the types binary-arrays.ts writes go in binary, which the engine reads without parsing.
 * Results are parsed with the instance's own parsers, so rows look as query() makes them.
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

  /**
   * Runs the named statement outside any transaction. It waits for PGlite's transaction and
   * query locks as query() does, so it never lands inside another caller's transaction.
   */
  return async function query<R>(name: string, text: string, params: unknown[] = [], rowMode?: 'array'): Promise<R[]> {
    return pg._runExclusiveTransaction(() =>
      pg._runExclusiveQuery(async () => {
        const types = await prepare(name, text);
        const values = params.map((v, k) => {
          if (v === null || v === undefined) return null;
          const binary = Array.isArray(v) ? binaryArray(types[k], v) : null;
          if (binary) return binary;
          const serializer = pg.serializers[types[k]!];
          return serializer ? serializer(v) : String(v);
        });
        const { messages } = await pg.execProtocol(
          Buffer.concat([serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
        );
        return (parse.parseResults(messages, pg.parsers, rowMode ? { rowMode } : undefined)[0]?.rows ?? []) as R[];
      }),
    );
  };
}
