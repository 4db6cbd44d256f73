import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { Db, Queryable } from './db.ts';
import { createDueWakes } from './due-wakes.ts';
import { afterDeadlock, guardPgBossCompletions } from './pgboss-guard.ts';
import { analyzeQueue, byDueTime } from './pgboss-statements.ts';
import { type Envelope, startWorkers as startQueueWorkers, type SettleOne } from './pgboss-workers.ts';
import { workerWakes } from './worker-wakes.ts';
import {
  type DeadLetter,
  DELIVERY_QUEUES,
  type BatchHandler,
  type Job,
  type JobHandler,
  type JobQueue,
  type JobRepo,
  type JobSpec,
  QUEUES,
  type QueueCounts,
  type QueueName,
} from './job-queue.ts';

export interface JobQueueOptions {
  /** Retries after the first run before a job is dead-lettered. */
  retryLimit: number;
  /** First retry delay; each next one doubles (pg-boss adds up to 50% jitter). */
  retryDelaySeconds: number;
  /** A job still active this long after it started is taken as lost (its worker died) and retried. */
  expireSeconds: number;
  /** How often expired jobs are looked for (pg-boss maintenance). */
  maintenanceSeconds: number;
  /**
   * How often an idle worker looks for jobs nobody woke it for: another instance's, or one
   * whose worker died. What this process enqueues wakes its workers at once, or when due
   * (a delayed job, a retry backing off).
   */
  pollSeconds: number;
}

/** The configuration's defaults, for tests and tools that do not read a Config. */
export const DEFAULT_JOB_OPTIONS: JobQueueOptions = { retryLimit: 5, retryDelaySeconds: 5, expireSeconds: 60, maintenanceSeconds: 30, pollSeconds: 30 };

const SCHEMA = 'pgboss';
/** Wakes for this many new jobs are a burst: see analyzeAfterBurst. */
const BURST_JOBS = 500;
const ANALYZE_EVERY_MS = 10_000;

/**
 * pg-boss's insert (JobQueue.enqueue) is prepared once per connection: planning was most of
 * its cost, and its plan does not hang on a queue's contents (JSON rows joined to queue
 * settings). Not its fetch and completion: a plan cached while a queue is empty stays.
 */
const INSERT = /^\s*WITH defaults as \(/;

/**
 * pg-boss expects a `db` with executeSql. Its maintenance and migrations send scripts
 * wrapped in BEGIN ... COMMIT; those run through our own transaction so that a failing
 * statement rolls back at once: on PGlite's single connection an aborted transaction
 * left open would fail every query after it.
 */
function bossDb(q: Queryable, db?: Db) {
  return {
    async executeSql(text: string, values?: unknown[]) {
      const script = /^\s*BEGIN;([\s\S]*)COMMIT;\s*$/.exec(text);
      if (script && db) return { rows: await db.transaction((tx) => tx.exec(script[1]!)) };
      if (!values || values.length === 0) return { rows: await q.exec(text) };
      return { rows: await q.query(byDueTime(text), values, INSERT.test(text) ? { name: 'parley_boss_insert' } : undefined) };
    },
  };
}

/** `now`: Date.now() at the enqueue, which a delayed job's start_after counts from. */
const toInsert = (s: JobSpec, now: number) => ({
  name: s.queue,
  data: { queue: s.queue, payload: s.data } satisfies Envelope,
  ...(s.id ? { id: s.id } : {}),
  ...(s.delayMs ? { startAfter: new Date(now + s.delayMs).toISOString() } : {}),
  // The push queue is a 'short' queue: one waiting job per key, and jobs without a key all share one.
  singletonKey: s.singletonKey ?? (s.queue === QUEUES.push ? (s.id ?? randomUUID()) : undefined),
});

const reasonOf = (output: unknown): string => {
  const o = output as { reason?: unknown; message?: unknown; value?: { message?: unknown } } | null;
  return String(o?.reason ?? o?.message ?? o?.value?.message ?? 'unknown');
};

/** The job queue over pg-boss 10, on the same database (and, inside a store transaction, the same transaction). */
export function createJobQueue(db: Db, opts: JobQueueOptions) {
  guardPgBossCompletions();
  const boss = new PgBoss({
    db: bossDb(db, db),
    schema: SCHEMA,
    schedule: false, // the digest timer makes its own slots (see delivery); no cron polling
    supervise: true,
    maintenanceIntervalSeconds: opts.maintenanceSeconds,
    monitorStateIntervalSeconds: 3600,
  } as ConstructorParameters<typeof PgBoss>[0]);
  const listeners = new Set<(err: unknown) => void>();
  // pg-boss emits maintenance and worker errors (a database restart, say); an 'error'
  // event nobody listens to would crash the process, so there is always this listener.
  boss.on('error', (err: unknown) => {
    for (const l of listeners) l(err);
  });
  const wakes = workerWakes((id) => boss.notifyWorker(id));
  let started = false;

  const dueWakes = createDueWakes((name, jobs) => queue.wake(name, jobs));
  /**
   * The database's clock less this process's, in ms. A job is due once start_after < now() by
   * the database's clock (pg-boss's fetch): by ours that is start_after less this. Read at
   * start; about zero on PGlite, whose clock is ours, and on a PostgreSQL kept in time.
   */
  let skewMs = 0;

  async function insert(q: Queryable, specs: JobSpec[]) {
    if (specs.length === 0) return;
    const now = Date.now();
    await boss.insert(specs.map((s) => toInsert(s, now)) as never, { db: bossDb(q) } as never);
    // Inside a transaction that then rolls back, or deduplicated by its id or singleton key, a
    // job is not there when the wake comes: that costs one fetch that finds nothing.
    for (const s of specs) if (s.delayMs && s.delayMs > 0) dueWakes.at(s.queue, now + s.delayMs - skewMs);
  }

  /** How far the database's clock is ahead of ours (the middle of the round trip is when it read its clock). */
  async function readSkew(): Promise<number> {
    const before = Date.now();
    const [row] = await db.query<{ ms: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`);
    return Number(row!.ms) - (before + Date.now()) / 2;
  }

  /** Queues with their retry and retention policies (created once, settings updated on every start). */
  async function createQueues() {
    const retention = { retentionMinutes: 60 * 24 * 30 };
    await afterDeadlock(() => boss.createQueue(QUEUES.dead, retention as never));
    await afterDeadlock(() => boss.createQueue(QUEUES.digest, { retryLimit: 0, expireInSeconds: 15 * 60 } as never));
    const delivery = {
      retryLimit: opts.retryLimit,
      retryDelay: opts.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: opts.expireSeconds,
      deadLetter: QUEUES.dead,
      ...retention,
    };
    for (const name of DELIVERY_QUEUES) {
      // 'short': at most one queued job per singleton key (see JobSpec.singletonKey).
      const settings = { ...delivery, policy: name === QUEUES.push ? 'short' : 'standard' };
      await afterDeadlock(() => boss.createQueue(name, settings as never));
      // createQueue keeps an existing queue's settings; configuration changes apply here.
      await afterDeadlock(() => boss.updateQueue(name, settings as never));
    }
  }

  /** When each queue's partition was last analyzed after a burst (this process's clock), and the jobs woken since. */
  const analyzed = new Map<QueueName, { at: number; woken: number }>();
  /**
   * A burst of jobs (a message to a large group's offline members) makes the statistics of
   * its queue's partition wrong at once: planned as if the queue were nearly empty, a fetch of
   * a batch reads every due job and sorts them. Autovacuum (PostgreSQL) and the embedded
   * vacuum (PGlite) correct them within a minute or so; here the burst's wakes do, once they
   * count BURST_JOBS, at most once per ANALYZE_EVERY_MS per queue. Counted over wakes, since
   * a device queue's burst comes a decision's few jobs at a time.
   */
  function analyzeAfterBurst(name: QueueName, jobs: number) {
    const a = analyzed.get(name) ?? { at: 0, woken: 0 };
    analyzed.set(name, a);
    a.woken += jobs;
    if (a.woken < BURST_JOBS || Date.now() - a.at < ANALYZE_EVERY_MS) return;
    a.at = Date.now();
    a.woken = 0;
    analyzeQueue(db, SCHEMA, name).catch((err: unknown) => {
      for (const l of listeners) l(err);
    });
  }

  const workersContext = { boss, db, schema: SCHEMA, pollSeconds: opts.pollSeconds, wakes, dueAt: (name: QueueName, ms: number) => dueWakes.at(name, ms - skewMs) };
  const startWorkers = <D>(name: QueueName, o: { concurrency?: number; batch?: number }, run: (jobs: Job<D>[], settleOne: SettleOne<D>) => Promise<void>) =>
    startQueueWorkers<D>(workersContext, name, o, run);

  const queue: JobQueue & { repoFor(q: Queryable): JobRepo } = {
    onError(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {
      if (started) return;
      skewMs = await readSkew();
      await installOnce(db, async () => {
        await boss.start();
        started = true;
        await createQueues();
      });
    },

    enqueue: (specs) => insert(db, specs),
    repoFor: (q) => ({ enqueue: (specs) => insert(q, specs) }),

    work<D>(name: QueueName, handler: JobHandler<D>, o: { concurrency?: number; batch?: number; sideBySide?: boolean } = {}) {
      return startWorkers<D>(name, o, async (jobs, settleOne) => {
        if (o.sideBySide) {
          // Every one ends before the batch does, even if settling one failed (the database gone).
          const failed = (await Promise.allSettled(jobs.map((j) => settleOne(j, () => handler(j))))).find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
        } else for (const j of jobs) await settleOne(j, () => handler(j));
      });
    },

    workBatches<D>(name: QueueName, handler: BatchHandler<D>, o: { concurrency?: number; batch: number }) {
      return startWorkers<D>(name, o, async (jobs, settleOne) => {
        // A batch that throws is run again one job at a time, at once: a job that cannot be
        // done (bad data, say) then fails alone, not its batch-mates on every retry with it.
        const whole = handler(jobs).catch((err: unknown) => {
          if (jobs.length === 1) throw err;
          return null;
        });
        for (const [i, j] of jobs.entries()) {
          await settleOne(j, async () => {
            const all = await whole;
            const result = all ? all[i] : (await handler([j]))[0];
            if (!result) throw new Error('the batch handler gave this job no result');
            return result;
          });
        }
      });
    },

    wake(name, jobs = 1) {
      analyzeAfterBurst(name, jobs);
      wakes.wake(name, jobs);
    },

    async waiting(name, singletonKeys) {
      if (singletonKeys.length === 0) return new Set();
      // Written as pg-boss's unique index of the 'short' policy is (job_i1), so it is probed once per key.
      const rows = await db.query<{ key: string }>(
        `SELECT COALESCE(singleton_key, '') AS key FROM ${SCHEMA}.job
         WHERE name = $1 AND COALESCE(singleton_key, '') = ANY ($2::text[]) AND state = 'created' AND policy = 'short'`,
        [name, singletonKeys],
      );
      return new Set(rows.map((r) => r.key));
    },

    async status() {
      const rows = await db.query<{ name: string; state: string; n: number; attempts: number }>(
        `SELECT name, state::text AS state, count(*)::int AS n,
           sum(CASE WHEN state = 'created' THEN 0 ELSE retry_count + 1 END)::int AS attempts
         FROM ${SCHEMA}.job WHERE name = ANY ($1) GROUP BY name, state`,
        [DELIVERY_QUEUES],
      );
      const dead = await db.query<{ queue: string; n: number }>(
        `SELECT data->>'queue' AS queue, count(*)::int AS n FROM ${SCHEMA}.job
         WHERE name = $1 AND state = 'created' GROUP BY 1`,
        [QUEUES.dead],
      );
      const out: Record<string, QueueCounts> = {};
      for (const name of DELIVERY_QUEUES) out[name] = { queued: 0, active: 0, retrying: 0, completed: 0, failed: 0, attempts: 0, deadLetters: 0 };
      for (const r of rows) {
        const c = out[r.name]!;
        const key = ({ created: 'queued', retry: 'retrying', active: 'active', completed: 'completed', failed: 'failed' } as const)[r.state as 'created'];
        if (key) c[key] += r.n;
        c.attempts += r.attempts;
      }
      for (const d of dead) if (out[d.queue]) out[d.queue]!.deadLetters = d.n;
      return out;
    },

    async deadLetters(page) {
      // Cursors carry milliseconds; pg-boss stores microseconds: compare and sort at the cursor's precision.
      const rows = await db.query<{ id: string; data: Envelope; output: unknown; created_on: Date }>(
        `SELECT id, data, output, created_on FROM ${SCHEMA}.job
         WHERE name = $1 AND state = 'created'
           AND ($2::timestamptz IS NULL OR (date_trunc('milliseconds', created_on), id) < ($2::timestamptz, $3::uuid))
         ORDER BY date_trunc('milliseconds', created_on) DESC, id DESC LIMIT $4`,
        [QUEUES.dead, page.before?.at ?? null, page.before?.id ?? null, page.limit],
      );
      return rows.map(
        (r): DeadLetter => ({
          id: r.id,
          queue: r.data.queue,
          data: r.data.payload,
          reason: reasonOf(r.output),
          createdAt: new Date(r.created_on).toISOString(),
        }),
      );
    },

    async retryDeadLetter(id) {
      return db.transaction(async (tx) => {
        const [row] = await tx.query<{ data: Envelope }>(
          `UPDATE ${SCHEMA}.job SET state = 'completed', completed_on = now(), output = jsonb_build_object('retried', true)
           WHERE name = $1 AND id = $2 AND state = 'created' RETURNING data`,
          [QUEUES.dead, id],
        );
        if (!row) return false;
        await insert(tx, [{ queue: row.data.queue, data: row.data.payload }]);
        return row.data.queue;
      }).then((q) => {
        if (q) queue.wake(q);
        return q !== false;
      });
    },

    async stop() {
      if (!started) return;
      started = false;
      dueWakes.stop();
      wakes.stop();
      await boss.stop({ graceful: true, wait: true, close: false, timeout: 5000 } as never);
    },
  };
  return queue;
}

export type PgJobQueue = ReturnType<typeof createJobQueue>;

const INSTALL_LOCK = 7_413_902;

/**
 * pg-boss creates its schema and queues unguarded: instances of a cluster starting together
 * on a new PostgreSQL database collide (duplicate schema, deadlocks). One at a time, under
 * an advisory lock held by a transaction of our own while pg-boss works on its connections.
 * PGlite is one process with one connection: nothing to guard, and a transaction held open
 * there would stall pg-boss's own queries.
 */
async function installOnce(db: Db, install: () => Promise<void>): Promise<void> {
  if (db.engine !== 'postgres') return install();
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [INSTALL_LOCK]);
    await install();
  });
}
