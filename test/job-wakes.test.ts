import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { openPglite } from '../src/storage/db-pglite.ts';
import { type Job, QUEUES } from '../src/storage/job-queue.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import { waitFor } from './helpers/harness.ts';
import { counts, OPTS, recorder } from './helpers/job-recorder.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

// What makes an idle job worker look for work: a wake for new jobs, one per job, and this
// process's own wakes when the jobs it scheduled fall due; the poll only for the rest.

/**
 * A store on a PGlite of its own whose idle workers poll once a minute: within a test's
 * deadlines only wakes make them fetch. `seen.fetches` counts pg-boss's fetches (take the next
 * due jobs, SKIP LOCKED, and mark them active).
 */
async function quietStore() {
  const template = fs.readFileSync(await ensurePgliteTemplate());
  const db = await openPglite({ loadDataDir: new Blob([template]) });
  await migrate(db);
  const seen = { fetches: 0 };
  const query = db.query.bind(db);
  db.query = ((text: string, ...rest: unknown[]) => {
    if (/^\s*WITH next as/i.test(text) && text.includes('SKIP LOCKED')) seen.fetches++;
    return (query as (...a: unknown[]) => unknown)(text, ...rest);
  }) as typeof db.query;
  return { store: createSqlStore(db, { jobs: { ...OPTS, pollSeconds: 60 } }), seen };
}

// Every worker a wake rouses fetches: one idle worker per new job, not the whole pool.
test('a wake rouses one idle worker per new job: a push to one device is not four fetches', async () => {
  const { store, seen } = await quietStore();
  try {
    await store.jobs.start();
    const { runs, handler } = recorder();
    await store.jobs.work(QUEUES.fcm, handler, { concurrency: 4 });
    await waitFor(() => seen.fetches >= 4, 15_000, 'each worker fetching once as it starts');
    seen.fetches = 0;
    await store.jobs.enqueue([{ queue: QUEUES.fcm, data: { token: 'one' } }]);
    store.jobs.wake(QUEUES.fcm);
    // The worker that takes it looks again as soon as it is done (a backlog is not left to the poll).
    await waitFor(() => runs.length === 1 && seen.fetches >= 2, 15_000, 'the job run and its worker looking again');
    assert.equal(seen.fetches, 2, 'one fetch took the job, one looked for more: the other three workers slept');

    seen.fetches = 0;
    await store.jobs.enqueue([1, 2, 3].map((n) => ({ queue: QUEUES.fcm, data: { token: `t${n}` } })));
    store.jobs.wake(QUEUES.fcm, 3);
    await waitFor(() => runs.length === 4 && seen.fetches >= 6, 15_000, 'three jobs run, three workers looking again');
    assert.equal(seen.fetches, 6, 'three workers roused for three jobs, each looking again once');
  } finally {
    await store.close();
  }
});

// A queue taking batches (device pushes): wakes are gathered into one fetch, a batch that was
// not full is not followed by a fetch of its own, and a wake that found no worker idle is
// answered as soon as a batch ends.
test('a batched queue: one fetch for jobs woken together, none after a batch that was not full, none missed', async () => {
  const { store, seen } = await quietStore();
  try {
    await store.jobs.start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { runs, handler } = recorder(async (job) => {
      if ((job.data as { token: string }).token === 'held') await gate;
      return { outcome: 'done' };
    });
    await store.jobs.work(QUEUES.fcm, handler, { concurrency: 2, batch: 10, sideBySide: true });
    await waitFor(() => seen.fetches >= 2, 15_000, 'each worker fetching once as it starts');
    seen.fetches = 0;
    // Three decisions' wakes, a job each, within the gathering moment.
    await store.jobs.enqueue([1, 2, 3].map((n) => ({ queue: QUEUES.fcm, data: { token: `t${n}` } })));
    for (let n = 0; n < 3; n++) store.jobs.wake(QUEUES.fcm, 1);
    await waitFor(() => runs.length === 3, 15_000, 'the three jobs run');
    // Had a worker looked again after that batch of three, this next job would make three fetches.
    await store.jobs.enqueue([{ queue: QUEUES.fcm, data: { token: 'held' } }]);
    store.jobs.wake(QUEUES.fcm, 1);
    await waitFor(() => runs.length === 4, 15_000, 'the held job started');
    assert.equal(seen.fetches, 2, 'three jobs woken together, one fetch; the next job, one more');
    // One worker holds a job; the other is roused for this one and holds it too; the next wake finds none idle.
    await store.jobs.enqueue([{ queue: QUEUES.fcm, data: { token: 'held' } }]);
    store.jobs.wake(QUEUES.fcm, 1);
    await waitFor(() => runs.length === 5, 15_000, 'the second held job started');
    // A wake for a full batch rouses at once (no gathering): it finds both workers busy.
    await store.jobs.enqueue([{ queue: QUEUES.fcm, data: { token: 'late' } }]);
    store.jobs.wake(QUEUES.fcm, 10);
    release();
    await waitFor(() => runs.length === 6, 15_000, 'the job woken while both workers were busy, run once a batch ended');
  } finally {
    await store.close();
  }
});

// Within the deadlines below (half the idle poll's minute) only this process's own wakes,
// when a job falls due, make the workers look.
test('a delayed job and a retry run when they fall due, without waiting for the idle poll', async () => {
  const { store, seen } = await quietStore();
  try {
    await store.jobs.start();
    const kind = (job: Job) => (job.data as { kind: string }).kind;
    const { runs, handler } = recorder((job) => {
      if (job.attempt > 1) return { outcome: 'done' };
      if (kind(job) === 'backoff') return { outcome: 'retry', reason: 'provider unavailable' };
      if (kind(job) === 'retry-after') return { outcome: 'retry', reason: 'provider busy', retryAfterMs: 2_500 };
      return { outcome: 'done' };
    });
    await store.jobs.work(QUEUES.fcm, handler, { concurrency: 2 });
    await waitFor(() => seen.fetches >= 2, 15_000, 'each worker fetching once as it starts, then sleeping');
    const runsOf = (k: string) => runs.filter((r) => kind(r.job) === k);

    const enqueued = Date.now();
    await store.jobs.enqueue([{ queue: QUEUES.fcm, data: { kind: 'delayed' }, delayMs: 700 }]);
    const [delayed] = await waitFor(() => (runsOf('delayed').length ? runsOf('delayed') : null), 30_000, 'the delayed job run once due');
    assert.ok(delayed!.at - enqueued >= 700, `not before its time (${delayed!.at - enqueued} ms)`);

    await store.jobs.enqueue([
      { queue: QUEUES.fcm, data: { kind: 'backoff' } },
      { queue: QUEUES.fcm, data: { kind: 'retry-after' } },
    ]);
    store.jobs.wake(QUEUES.fcm, 2);
    // pg-boss's backoff puts the first retry 1-2 s out (retryDelaySeconds 1, with jitter); Retry-After says 2.5 s.
    const backoff = await waitFor(() => (runsOf('backoff').length === 2 ? runsOf('backoff') : null), 30_000, 'the retry after its backoff');
    const retryAfter = await waitFor(() => (runsOf('retry-after').length === 2 ? runsOf('retry-after') : null), 30_000, 'the retry after Retry-After');
    assert.ok(backoff[1]!.at - backoff[0]!.at >= 1_000, `backed off (${backoff[1]!.at - backoff[0]!.at} ms)`);
    assert.ok(retryAfter[1]!.at - retryAfter[0]!.at >= 2_500, `not before the provider said (${retryAfter[1]!.at - retryAfter[0]!.at} ms)`);
    await waitFor(async () => (await counts(store, QUEUES.fcm)).completed === 3, 30_000, 'the three jobs completed');
  } finally {
    await store.close();
  }
});
