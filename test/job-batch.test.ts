import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Job, type JobResult, QUEUES } from '../src/storage/job-queue.ts';
import { backends, skippedPostgres, type TestStore } from './helpers/backends.ts';
import { waitFor } from './helpers/harness.ts';
import { OPTS, recorder } from './helpers/job-recorder.ts';

type Answer = 'done' | 'retry' | 'dead' | 'throw';
const ANSWERS: Answer[] = ['done', 'retry', 'done', 'dead', 'throw', 'done'];

/** Every email job but those in `dead` completed with its own output; those alone are dead-lettered. */
async function settled(store: TestStore, dead: number[]) {
  const rows = await waitFor(async () => {
    const r = await store.query<{ n: number; state: string; output: { n?: number } | null }>(
      `SELECT (data->'payload'->>'n')::int AS n, state::text AS state, output FROM pgboss.job WHERE name = $1 ORDER BY 1`,
      [QUEUES.email],
    );
    return r.every((x) => (dead.includes(x.n) ? x.state === 'failed' : x.state === 'completed')) ? r : null;
  }, 30_000, `every job completed but ${dead.join(', ')}, which failed`);
  for (const r of rows.filter((x) => !dead.includes(x.n))) assert.equal(r.output?.n, r.n, `job ${r.n} completed with its own output`);
  const letters = await waitFor(async () => {
    const d = await store.jobs.deadLetters({ limit: 10, before: null });
    return d.length === dead.length ? d : null;
  }, 30_000, 'the dead letters');
  assert.deepEqual(letters.map((d) => (d.data as { n: number }).n).sort(), dead, 'only those are dead-lettered');
}

if (skippedPostgres) test('job batches on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`job batches on ${backend.name}`, () => {
    // A worker of a batched queue takes several due jobs a fetch and runs them one after another
    // (or side by side); each settles on its own, so a failing one never fails (and re-runs) the others.
    for (const sideBySide of [false, true]) {
      test(`a worker taking ten a fetch${sideBySide ? ', side by side,' : ''} takes six due jobs at once, and each settles on its own`, async () => {
        const store = await backend.openStore({ jobs: OPTS });
        try {
          await store.jobs.start();
          await store.jobs.enqueue(ANSWERS.map((answer, n) => ({ queue: QUEUES.email, data: { n, answer } })));
          // What the first run sees: how many of the queue's jobs its worker's fetch took.
          let takenTogether = 0;
          let inFlight = 0;
          let mostInFlight = 0;
          const { runs, handler } = recorder(async (job): Promise<JobResult> => {
            const { n, answer } = job.data as { n: number; answer: Answer };
            // Side by side, all six have started before the first await of any ends.
            mostInFlight = Math.max(mostInFlight, ++inFlight);
            if (runs.length === 1) {
              const [row] = await store.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'active'`, [QUEUES.email]);
              takenTogether = row!.n;
            }
            await new Promise((r) => setTimeout(r, 20));
            inFlight--;
            if (answer === 'throw' && job.attempt === 1) throw new Error('handler blew up');
            if (answer === 'retry' && job.attempt === 1) return { outcome: 'retry', reason: 'try later' };
            if (answer === 'dead') return { outcome: 'dead', reason: 'no such mailbox' };
            return { outcome: 'done', output: { n } };
          });
          await store.jobs.work(QUEUES.email, handler, { concurrency: 1, batch: 10, sideBySide });
          const ranOf = (n: number) => runs.filter((r) => (r.job.data as { n: number }).n === n).length;
          // The retried two run again after their backoff (1 s); the rest stay as they settled.
          await waitFor(() => ranOf(1) === 2 && ranOf(4) === 2, 20_000, 'the retried and the thrown job run a second time');
          assert.equal(takenTogether, ANSWERS.length, "one fetch took all six: the first run saw them all active");
          assert.equal(mostInFlight, sideBySide ? ANSWERS.length : 1, sideBySide ? 'all at once' : 'one after another');
          for (const n of [0, 2, 5]) assert.equal(ranOf(n), 1, `done job ${n} ran once`);
          assert.equal(ranOf(3), 1, 'the dead job ran once');
          await settled(store, [3]);
        } finally {
          await store.close();
        }
      });
    }

    // A batch handler (the push decisions) gets the whole fetch in one call and answers each job.
    test('a batch handler takes six due jobs in one call and settles each by its answer; a job that makes its batch throw is run alone and fails alone', async () => {
      const store = await backend.openStore({ jobs: OPTS });
      try {
        await store.jobs.start();
        // 'poison' makes any batch it is in throw, as a job the handler cannot read would.
        const answers = ['done', 'retry', 'done', 'dead', 'poison', 'done'] as const;
        await store.jobs.enqueue(answers.map((answer, n) => ({ queue: QUEUES.email, data: { n, answer } })));
        const calls: { n: number; attempt: number }[][] = [];
        await store.jobs.workBatches(
          QUEUES.email,
          async (jobs: Job<{ n: number; answer: (typeof answers)[number] }>[]): Promise<JobResult[]> => {
            calls.push(jobs.map((j) => ({ n: j.data.n, attempt: j.attempt })));
            if (jobs.some((j) => j.data.answer === 'poison')) throw new Error('cannot read job 4');
            return jobs.map((j): JobResult => {
              if (j.data.answer === 'retry' && j.attempt === 1) return { outcome: 'retry', reason: 'try later' };
              if (j.data.answer === 'dead') return { outcome: 'dead', reason: 'no such mailbox' };
              return { outcome: 'done', output: { n: j.data.n } };
            });
          },
          { concurrency: 1, batch: 10 },
        );
        const runsOf = (n: number) => calls.flat().filter((r) => r.n === n).map((r) => r.attempt);
        // Job 4 runs three times in all (its retry limit is 2), each time failing only itself.
        await settled(store, [3, 4]);
        assert.deepEqual(calls[0]!.map((r) => r.n).sort(), [0, 1, 2, 3, 4, 5], 'one call took all six');
        for (const n of [0, 2, 3, 5]) assert.deepEqual(runsOf(n), [1, 1], `job ${n}: in the batch that threw, then alone, settled by its answer`);
        assert.deepEqual(runsOf(1).slice(0, 2), [1, 1], 'job 1 retried after its own answer');
        assert.equal(runsOf(1).at(-1), 2, 'and done on its second attempt');
        assert.deepEqual([...new Set(runsOf(4))], [1, 2, 3], 'job 4 failed each of its three attempts');
      } finally {
        await store.close();
      }
    });
  });
}
