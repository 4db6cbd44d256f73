import type PgBoss from 'pg-boss';
import type { Db } from './db.ts';
import type { Job, JobResult, QueueName } from './job-queue.ts';
import { completeWith } from './pgboss-statements.ts';
import type { WorkerSlot, workerWakes } from './worker-wakes.ts';

/** Stored job data: the payload and the queue it belongs to, so a dead letter knows where to go back. */
export type Envelope = { queue: QueueName; payload: object };

/** Settles one job of a batch with the result `run` gives; a throw fails (and so retries) the job alone. */
export type SettleOne<D> = (job: Job<D>, run: () => Promise<JobResult>) => Promise<void>;

export interface WorkersContext {
  boss: PgBoss;
  db: Db;
  schema: string;
  pollSeconds: number;
  wakes: ReturnType<typeof workerWakes>;
  /** Wake a worker of `name` when a job backing off falls due (ms by the database's clock). */
  dueAt(name: QueueName, dueMs: number): void;
}

/**
 * Starts a queue's workers over pg-boss: each fetch of up to `batch` jobs goes to `runJobs`,
 * which settles every job through the SettleOne it is given. Answers a stop that waits for
 * the batches running.
 */
export async function startWorkers<D>(
  c: WorkersContext,
  name: QueueName,
  o: { concurrency?: number; batch?: number },
  runJobs: (jobs: Job<D>[], settleOne: SettleOne<D>) => Promise<void>,
): Promise<() => Promise<void>> {
  const { boss, db, schema } = c;
  const batch = Math.max(1, o.batch ?? 1);
  const mine: WorkerSlot[] = [];
  /** The batches (or single jobs) this queue's workers are running: stopping waits for them. */
  const running = new Set<Promise<unknown>>();

  const toJob = (raw: unknown): Job<D> => {
    const j = raw as { id: string; data: Envelope; retryCount: number; retryLimit: number };
    return { id: j.id, queue: name, data: j.data.payload as D, attempt: j.retryCount + 1, maxAttempts: j.retryLimit + 1 };
  };

  /** Records a job's result: answers its output when done, null when it failed. */
  async function settle(job: Job<D>, result: JobResult): Promise<Record<string, unknown> | null> {
    if (result.outcome === 'done') return result.output ?? {};
    // Failed for good: no retries left, so pg-boss fails it into the dead-letter queue.
    if (result.outcome === 'dead') await db.query(`UPDATE ${schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [name, job.id]);
    // With retries left, pg-boss puts the job back with start_after set by its backoff (with
    // jitter); a Retry-After from the provider moves that later, never sooner. The time
    // read back is when this process wakes a worker for it.
    await boss.fail(name, job.id, { reason: result.reason });
    if (result.outcome === 'retry') {
      const dueMs = `(extract(epoch FROM start_after) * 1000)::float8 AS due_ms`;
      const [retry] =
        result.retryAfterMs === undefined
          ? await db.query<{ due_ms: number }>(`SELECT ${dueMs} FROM ${schema}.job WHERE name = $1 AND id = $2 AND state = 'retry'`, [name, job.id])
          : await db.query<{ due_ms: number }>(
              `UPDATE ${schema}.job SET start_after = GREATEST(start_after, now() + $3 * interval '1 millisecond')
               WHERE name = $1 AND id = $2 AND state = 'retry' RETURNING ${dueMs}`,
              [name, job.id, result.retryAfterMs],
            );
      if (retry) c.dueAt(name, Number(retry.due_ms));
    }
    return null;
  }

  for (let i = 0; i < (o.concurrency ?? 1); i++) {
    const worker: WorkerSlot = { id: '', busy: false };
    // pg-boss waits a poll interval after every fetch; with a backlog that would cap a
    // worker at one batch per interval, so a batch that leaves more waiting wakes its
    // worker at once (worker-wakes.ts).
    const next = () => setImmediate(() => boss.notifyWorker(worker.id));
    const runBatch = async (raws: unknown[]) => {
      // Each settles on its own: one that throws is failed (and retried) alone, never the
      // batch. All of them, even when stopping: pg-boss completes every job of the batch
      // still active once this returns, run or not.
      const done: { id: string; output: Record<string, unknown> }[] = [];
      await runJobs(raws.map(toJob), async (job, run) => {
        try {
          const output = await settle(job, await run());
          if (output) done.push({ id: job.id, output });
        } catch (err) {
          await boss.fail(name, job.id, { reason: String((err as Error)?.message ?? err) });
        }
      });
      // pg-boss completes what is still active when this returns, with this output for a
      // batch of one and none for more: the batch's outputs go in one statement here.
      if (raws.length === 1) return done[0]?.output ?? {};
      if (done.length > 0) await completeWith(db, schema, name, done);
      return {};
    };
    worker.id = await boss.work<Envelope>(name, { batchSize: batch, includeMetadata: true, pollingIntervalSeconds: c.pollSeconds }, async (raws) => {
      worker.busy = true;
      const run = runBatch(raws);
      running.add(run);
      try {
        return await run;
      } finally {
        running.delete(run);
        worker.busy = false;
        if (c.wakes.again(name, raws.length)) next();
      }
    });
    mine.push(worker);
  }
  c.wakes.add(name, batch, mine);
  return async () => {
    c.wakes.remove(name, mine);
    for (const w of mine) await boss.offWork({ id: w.id });
    await Promise.allSettled([...running]);
  };
}
