import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Db, Queryable, QueryOptions, Settings, Statement } from './db.ts';
import type { Reply, Request } from './pglite-worker.ts';

type Call = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * PGlite in a worker thread. PGlite runs every query, and every fsync of a commit, on the
 * thread that calls it; on the main thread a slow commit stalled every socket (the bench
 * showed the server mostly idle, waiting, at 800 messages/s). Here the main thread only
 * posts requests and reads answers. Same Db contract: one connection, transactions
 * serialised, COMMIT answered once done.
 */
export async function openPgliteThread(opts: { dataDir?: string; loadDataDir?: Uint8Array }): Promise<Db> {
  // The worker is this folder's pglite-worker, in whatever form this file runs. Run as
  // TypeScript (through tsx), the worker registers tsx itself: workers do not inherit --import.
  const self = fileURLToPath(import.meta.url);
  const entry = path.join(path.dirname(self), `pglite-worker${path.extname(self)}`);
  const worker =
    path.extname(self) === '.ts'
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
            .then(({ register }) => { register(); return import(${JSON.stringify(pathToFileURL(entry).href)}); })`,
          { eval: true, workerData: opts },
        )
      : new Worker(entry, { workerData: opts });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let failure: Error | null = null;

  const ready = new Promise<void>((resolve, reject) => {
    waiting.set(0, { resolve: () => resolve(), reject });
  });
  worker.on('message', (reply: Reply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.ok) w.resolve(reply.value);
    else w.reject(Object.assign(new Error(String(reply.error.message)), reply.error));
  });
  const fail = (err: Error) => {
    failure = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`PGlite worker exited (${code})`)));
  await ready;

  const call = <T>(request: Call): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...request, id });
    });
  };
  const on = (tx?: number): Queryable => ({
    query: <R>(sql: string, params?: unknown[], options?: QueryOptions) =>
      call<R[]>({
        op: 'query',
        sql,
        ...(params ? { params } : {}),
        ...(tx ? { tx } : {}),
        ...(options?.name ? { name: options.name } : {}),
        ...(options?.rowMode ? { rowMode: options.rowMode } : {}),
      }),
    exec: (sql: string) => call<Record<string, unknown>[]>({ op: 'exec', sql, ...(tx ? { tx } : {}) }),
    pipeline: (statements: Statement[], settings?: Settings) =>
      call<unknown[][][]>({ op: 'pipeline', statements, ...(settings ? { settings } : {}), ...(tx ? { tx } : {}) }),
    oneAtATime: true,
  });

  return {
    engine: 'pglite',
    ...on(),
    async transaction(fn) {
      const tx = await call<number>({ op: 'begin' });
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        result = await fn(on(tx));
      } catch (err) {
        await call({ op: 'end', tx, commit: false }).catch(() => {});
        throw err;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },
    async close() {
      await call({ op: 'close' }).catch(() => {});
      await worker.terminate();
    },
  };
}
