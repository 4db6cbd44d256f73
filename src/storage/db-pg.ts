import pg from 'pg';
import { type Db, INT8_OID } from './db.ts';
import { openOneConnection } from './pg-one-connection.ts';
import { queryableOf } from './pg-queryable.ts';

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export async function openPostgres(connectionString: string, opts: { max?: number } = {}): Promise<Db> {
  // A database that does not answer fails a request in 5 s (`unavailable`) instead of holding it.
  // Connections stay open once made (idleTimeoutMillis 0): by default the pool closed one left
  // idle for 10 s, and under load a burst (connects, the job queue's maintenance) opened a
  // dozen that closed together 10 s later. Ending a backend costs PostgreSQL CPU as starting
  // one does, and a new one plans every statement afresh; measured under load, those bursts
  // took the cores from the server for 100-200 ms and were the run's worst latency. An idle
  // connection does not keep the process alive (allowExitOnIdle): a script that ends without
  // closing the pool exits rather than waiting on it.
  const newPool = (max: number) => {
    const p = new pg.Pool({ connectionString, max, types, connectionTimeoutMillis: 5000, idleTimeoutMillis: 0, allowExitOnIdle: true });
    // An idle client losing its connection (database restart) must not crash the process.
    p.on('error', () => {});
    return p;
  };
  // Of `max` connections, one is the send batcher's (sendConnection): behind a pool that
  // queries fill (a burst of history pages, the job queue's maintenance), group commit and
  // with it every realtime send would wait its turn for a connection. It is made again on the
  // next batch once lost (a database restart): pg-one-connection.ts.
  const max = opts.max ?? 20;
  const pool = newPool(max > 1 ? max - 1 : 1);
  let sends: Awaited<ReturnType<typeof openOneConnection>> | null = null;
  try {
    (await pool.connect()).release(); // fail fast on a wrong URL
    if (max > 1) sends = await openOneConnection(connectionString, types, 5000);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const wrap = (q: pg.Pool | pg.ClientBase) => queryableOf(q, types);
  return {
    engine: 'postgres',
    ...wrap(pool),
    ...(sends ? { sendConnection: sends.queryable } : {}),
    async transaction(fn) {
      const conn = await pool.connect();
      // A checked-out client whose connection dies (database restart) emits 'error'; with
      // no listener that would end the process. The failing query rejects anyway.
      const ignore = () => {};
      conn.on('error', ignore);
      let broken: Error | undefined;
      try {
        await conn.query('BEGIN');
        const result = await fn(wrap(conn));
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch((rollbackErr: Error) => {
          broken = rollbackErr; // the connection is gone: do not hand it to the next caller
        });
        throw err;
      } finally {
        conn.off('error', ignore);
        conn.release(broken);
      }
    },
    close: async () => {
      await Promise.all([pool.end(), sends?.close()]);
    },
  };
}
