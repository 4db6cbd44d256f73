import { AsyncLocalStorage } from 'node:async_hooks';
import type { Db, Queryable } from '../../src/storage/db.ts';

/**
 * The statements run on behalf of whatever runs inside `statements.run(list, ...)`, each as
 * its prepared name or else its text: background work (job polling) is not counted.
 */
export const statements = new AsyncLocalStorage<string[]>();

/** The Db every query of a store goes through, recording each statement the driver is handed. */
export function counting(db: Db): Db {
  const wrap = (q: Queryable): Queryable => ({
    query: (text, params, options) => {
      statements.getStore()?.push(options?.name ?? text);
      return q.query(text, params, options);
    },
    exec: (text) => {
      statements.getStore()?.push(text);
      return q.exec(text);
    },
    pipeline: (list, settings) => {
      statements.getStore()?.push(...list.map((s) => s.name));
      return q.pipeline(list, settings);
    },
    ...(q.oneAtATime ? { oneAtATime: q.oneAtATime } : {}),
  });
  return { ...db, ...wrap(db), ...(db.sendConnection ? { sendConnection: wrap(db.sendConnection) } : {}), transaction: (fn) => db.transaction((tx) => fn(wrap(tx))) };
}
