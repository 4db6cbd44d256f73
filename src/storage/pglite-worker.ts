// The PGlite engine in a worker thread (see db-pglite-thread.ts). It answers query, exec,
// begin and end requests; a transaction's queries carry its id and run inside PGlite's own
// transaction, which holds everything else back until it ends. Statements and transactions
// take turns on the connection in two lanes, the send batch's first (pglite-lanes.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { Transaction } from '@electric-sql/pglite';
import { createPglite } from './db-pglite.ts';
import { connectionLanes } from './pglite-lanes.ts';
import { preparedStatements } from './pglite-prepared.ts';

export type Request =
  | { id: number; op: 'query'; sql: string; params?: unknown[]; tx?: number; name?: string; rowMode?: 'array'; lane?: 'send' }
  | { id: number; op: 'exec'; sql: string; tx?: number; lane?: 'send' }
  | { id: number; op: 'begin'; lane?: 'send' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: Record<string, unknown> };

const port = parentPort!;
const { dataDir, loadDataDir } = workerData as { dataDir?: string; loadDataDir?: Uint8Array };
const pg = await createPglite({ ...(dataDir ? { dataDir } : {}), ...(loadDataDir ? { loadDataDir: new Blob([loadDataDir]) } : {}) });
const prepared = preparedStatements(pg);
const lanes = connectionLanes();

/** Runs a statement outside any transaction in its turn. */
async function inTurn<T>(lane: 'send' | undefined, run: () => Promise<T>): Promise<T> {
  await lanes.acquire(lane ?? 'other');
  try {
    return await run();
  } finally {
    lanes.release();
  }
}

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
      const options = r.rowMode ? { rowMode: r.rowMode } : undefined;
      if (r.tx) return (await open.get(r.tx)!.tx!.query(r.sql, r.params, options)).rows;
      return inTurn(r.lane, async () => (r.name ? prepared(r.name, r.sql, r.params, r.rowMode) : (await pg.query(r.sql, r.params, options)).rows));
    }
    case 'exec': {
      if (r.tx) return (await open.get(r.tx)!.tx!.exec(r.sql)).at(-1)?.rows ?? [];
      return inTurn(r.lane, async () => (await pg.exec(r.sql)).at(-1)?.rows ?? []);
    }
    case 'begin': {
      // The transaction's turn lasts until its COMMIT or ROLLBACK is done.
      await lanes.acquire(r.lane ?? 'other');
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
        .finally(() => {
          open.delete(id);
          lanes.release();
        });
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
