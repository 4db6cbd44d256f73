/**
 * A worker process for the job queue's crash test (test/job-queue.test.ts): it opens the
 * database, starts the queue and takes jobs from one queue with a handler that prints
 * `started <jobId> <attempt>` and never finishes, so the parent can SIGKILL it mid-job.
 *
 * Usage: job-worker-child.ts <pglite|postgres> <dataDir|url> <queue> <job options as JSON>
 */
import { openPglite } from '../../src/storage/db-pglite.ts';
import { openPostgres } from '../../src/storage/db-pg.ts';
import type { QueueName } from '../../src/storage/job-queue.ts';
import { createJobQueue, type JobQueueOptions } from '../../src/storage/pgboss.ts';

const [engine, where, queueName, optsJson] = process.argv.slice(2);
if (!engine || !where || !queueName || !optsJson) {
  process.stderr.write('usage: job-worker-child.ts <pglite|postgres> <dataDir|url> <queue> <options json>\n');
  process.exit(2);
}

// PGlite is single-process: the parent closed this data dir before starting us.
const db = engine === 'pglite' ? await openPglite({ dataDir: where }) : await openPostgres(where, { max: 4 });
const jobs = createJobQueue(db, JSON.parse(optsJson) as JobQueueOptions);
await jobs.start();
await jobs.work(queueName as QueueName, async (job) => {
  process.stdout.write(`started ${job.id} ${job.attempt}\n`);
  // Never resolves: the job stays active until this process dies.
  return new Promise(() => {});
});
process.stdout.write('ready\n');
