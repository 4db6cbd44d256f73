import type { Db, Queryable } from './db.ts';
import { isMigrated } from './migrate.ts';
import { conversationRepo } from './sql/conversations.ts';
import { deviceRepo } from './sql/devices.ts';
import { notificationRepo } from './sql/notifications.ts';
import { eventRepo } from './sql/events.ts';
import { memberRepo } from './sql/members.ts';
import { messageRepo } from './sql/messages.ts';
import { createSendBatcher } from './sql/send-batch.ts';
import { startEmbeddedVacuum } from './embedded-vacuum.ts';
import { userRepo } from './sql/users.ts';
import { notifyWorkRepo } from './sql/notify-work.ts';
import { createJobQueue, DEFAULT_JOB_OPTIONS, type JobQueueOptions, type PgJobQueue } from './pgboss.ts';
import type { Repos, Store } from './store.ts';

const repos = (q: Queryable, jobs: PgJobQueue): Repos => ({
  users: userRepo(q),
  conversations: conversationRepo(q),
  members: memberRepo(q),
  messages: messageRepo(q),
  events: eventRepo(q),
  notifications: notificationRepo(q),
  devices: deviceRepo(q),
  notifyWork: notifyWorkRepo(q),
  jobs: jobs.repoFor(q),
});


/**
 * The Postgres implementation of the store port, over either engine. `vacuumIntervalMs`: on
 * PGlite, vacuum on that interval (openStore passes PARLEY_EMBEDDED_VACUUM_INTERVAL_MS);
 * short-lived stores in tests leave it out.
 */
export function createSqlStore(db: Db, opts: { jobs?: JobQueueOptions; vacuumIntervalMs?: number; sendLingerMs?: number } = {}): Store {
  const jobs = createJobQueue(db, opts.jobs ?? DEFAULT_JOB_OPTIONS);
  // PGlite has no autovacuum (see embedded-vacuum.ts); a PostgreSQL server runs its own.
  const vacuum =
    db.engine === 'pglite' && opts.vacuumIntervalMs
      ? startEmbeddedVacuum(db, {
          intervalMs: opts.vacuumIntervalMs,
          onError: (err) => process.emitWarning(`embedded VACUUM failed (tried again next interval): ${(err as Error)?.message ?? err}`),
        })
      : null;
  const top = repos(db, jobs);
  // Outside transactions, sends are group-committed (see send-batch.ts): one batch in flight,
  // up to 256 sends, waiting `sendLingerMs` (PARLEY_SEND_LINGER_MS, 1 by default) for company
  // when idle; on a connection of their own where the engine has one (Db.sendConnection).
  const sendObservers = new Set<Parameters<Store['observeSends']>[0]>();
  const send = createSendBatcher(db.sendConnection ?? db, {
    maxBatch: 256,
    lingerMs: opts.sendLingerMs ?? 1,
    onBatch: (batch) => {
      for (const fn of sendObservers) fn(batch);
    },
  });
  return {
    engine: db.engine,
    ...top,
    messages: { ...top.messages, send },
    jobs,
    transaction: (fn) => db.transaction((tx) => fn(repos(tx, jobs))),
    async isReady() {
      try {
        return await isMigrated(db);
      } catch {
        return false;
      }
    },
    observeSends(fn) {
      sendObservers.add(fn);
      return () => void sendObservers.delete(fn);
    },
    async close() {
      await vacuum?.stop();
      await jobs.stop();
      await db.close();
    },
  };
}
