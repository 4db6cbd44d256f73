import pg from 'pg';
import type { Queryable, QueryOptions, Settings, Statement } from './db.ts';
import { pipelineStatements, runPipeline, writable } from './pg-pipeline-query.ts';
import { queryableOf } from './pg-queryable.ts';
import { setForSession } from './pipeline-settings.ts';

type Types = NonNullable<pg.ClientConfig['types']>;

/**
 * One connection of its own, made again on the next query once lost (a database restart):
 * the send batcher's. A pool of one did the same, but took, per batch, a checkout (a timer for
 * its timeout, listeners added and removed, a tick's wait), about 1% of the server's work under
 * load. Like the pools (allowExitOnIdle), an idle connection does not keep the process alive.
 */
export async function openOneConnection(connectionString: string, types: Types, connectionTimeoutMillis: number) {
  let current: Promise<pg.Client> | null = null;
  /** Every client made, until it ends: close() ends each. */
  const clients = new Set<pg.Client>();

  const connect = (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString, types, connectionTimeoutMillis });
    clients.add(client);
    const made = client.connect().then(() => {
      (client as unknown as { unref(): void }).unref();
      return client;
    });
    const forget = () => {
      clients.delete(client);
      if (current === made) current = null;
    };
    // A connection lost fails the query in flight (node-postgres rejects it) and is replaced
    // by the next one. Listening also keeps an 'error' event from ending the process.
    client.on('error', forget);
    client.on('end', forget);
    made.catch(forget);
    return made;
  };
  const connection = () => (current ??= connect());

  /** Statements in flight: while there are some, the connection keeps the process alive, as the pools' checkouts do. */
  let inFlight = 0;
  const during = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = await connection();
    const handle = client as unknown as { ref(): void; unref(): void };
    if (inFlight++ === 0) handle.ref();
    try {
      return await work(client);
    } finally {
      if (--inFlight === 0) handle.unref();
    }
  };

  await connection(); // fail fast on a wrong URL; the connection ready for the first batch
  /**
   * The settings each client holds for its session. This connection is its caller's alone (the
   * send batcher's), so a pipeline's settings are set once per connection, where on a shared
   * one they cost a statement per pipeline (pipeline-settings.ts). Held only once the
   * statement that set them has committed: a failed pipeline rolls its SET back.
   */
  const held = new WeakMap<pg.Client, { key: string; settings: Settings }>();
  const queryable: Queryable = {
    query: <R>(text: string, params?: unknown[], opts?: QueryOptions) =>
      during(async (client) => {
        if (!(opts?.name && opts.rowMode && params && writable(params))) return queryableOf(client, types).query<R>(text, params, opts);
        return (await runPipeline(client, [{ name: opts.name, text, values: params }], types))[0] as R[];
      }),
    exec: (text: string) => during((client) => queryableOf(client, types).exec(text)),
    pipeline: (statements: Statement[], settings: Settings = {}) =>
      during(async (client) => {
        const before = held.get(client);
        const key = before?.settings === settings ? before.key : JSON.stringify(settings);
        const set = key !== (before?.key ?? '{}');
        const results = await runPipeline(client, pipelineStatements(set ? [setForSession(settings, before?.settings), ...statements] : statements), types);
        if (set) held.set(client, { key, settings });
        return set ? results.slice(1) : results;
      }),
  };
  return {
    queryable,
    async close() {
      current = null;
      // Held by the loop while it ends: an unreferenced socket's close would not be waited for.
      await Promise.all(
        [...clients].map((c) => {
          (c as unknown as { ref(): void }).ref();
          return c.end().catch(() => {});
        }),
      );
    },
  };
}
