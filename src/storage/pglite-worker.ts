// The PGlite engine in a worker thread (see db-pglite-thread.ts). It answers query, exec,
// begin and end requests; a transaction's queries carry its id and run inside PGlite's own
// transaction, which holds everything else back until it ends.
import { parentPort, workerData } from 'node:worker_threads';
import type { Transaction } from '@electric-sql/pglite';
import { createPglite } from './db-pglite.ts';
import type { Settings, Statement } from './db.ts';
import { pipelineInTransaction, preparedStatements } from './pglite-prepared.ts';

export type Request =
  | { id: number; op: 'query'; sql: string; params?: unknown[]; tx?: number; name?: string; rowMode?: 'array' }
  | { id: number; op: 'exec'; sql: string; tx?: number }
  | { id: number; op: 'pipeline'; statements: Statement[]; settings?: Settings; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: Record<string, unknown> };

const port = parentPort!;
const { dataDir, loadDataDir } = workerData as { dataDir?: string; loadDataDir?: Uint8Array };
const pg = await createPglite({ ...(dataDir ? { dataDir } : {}), ...(loadDataDir ? { loadDataDir: new Blob([loadDataDir]) } : {}) });
const prepared = preparedStatements(pg);

interface Open {
  tx: Transaction | null;
  end: (commit: boolean) => void;
  /** Settles once COMMIT or ROLLBACK is done. */
  done: Promise<void>;
}
const open = new Map<number, Open>();
let nextTx = 1;

class RollbackRequested extends Error {}

/** Errors cross the thread boundary as plain objects; the fields callers read (code, detail...) are kept. */
const plain = (err: unknown): Record<string, unknown> => {
  const e = err as Record<string, unknown> & Error;
  const out: Record<string, unknown> = { message: e?.message ?? String(err), name: e?.name };
  for (const k of ['code', 'detail', 'hint', 'constraint', 'table', 'column', 'schema', 'severity']) if (e?.[k] !== undefined) out[k] = e[k];
  return out;
};

async function handle(r: Request): Promise<unknown> {
  switch (r.op) {
    case 'query': {
      if (r.name && !r.tx) return prepared.query(r.name, r.sql, r.params, r.rowMode);
      const q = r.tx ? open.get(r.tx)!.tx! : pg;
      return (await q.query(r.sql, r.params, r.rowMode ? { rowMode: r.rowMode } : undefined)).rows;
    }
    case 'pipeline':
      return r.tx ? pipelineInTransaction(open.get(r.tx)!.tx!, r.statements, r.settings) : prepared.pipeline(r.statements, r.settings);
    case 'exec': {
      const q = r.tx ? open.get(r.tx)!.tx! : pg;
      return (await q.exec(r.sql)).at(-1)?.rows ?? [];
    }
    case 'begin': {
      const id = nextTx++;
      let started!: () => void;
      const ready = new Promise<void>((resolve) => (started = resolve));
      const entry: Open = { tx: null, end: () => {}, done: Promise.resolve() };
      entry.done = pg
        .transaction(async (tx) => {
          entry.tx = tx;
          const commit = await new Promise<boolean>((end) => {
            entry.end = end;
            open.set(id, entry);
            started();
          });
          // Throwing inside rolls back (PGlite's transaction); returning commits.
          if (!commit) throw new RollbackRequested();
        })
        .then(
          () => {},
          (err) => {
            if (!(err instanceof RollbackRequested)) throw err;
          },
        )
        .finally(() => open.delete(id));
      await Promise.race([ready, entry.done]);
      if (!open.has(id)) await entry.done; // BEGIN itself failed: answer with its error
      return id;
    }
    case 'end': {
      const entry = open.get(r.tx);
      if (!entry) return null;
      entry.end(r.commit);
      await entry.done; // answered only after COMMIT: durability
      return null;
    }
    case 'close':
      await pg.close();
      return null;
  }
}

port.on('message', (r: Request) => {
  handle(r).then(
    (value) => port.postMessage({ id: r.id, ok: true, value } satisfies Reply),
    (err) => port.postMessage({ id: r.id, ok: false, error: plain(err) } satisfies Reply),
  );
});
port.postMessage({ id: 0, ok: true, value: 'ready' } satisfies Reply);
