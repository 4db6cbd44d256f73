import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import { type DeadLetter, type Job, type JobResult, QUEUES, type QueueName } from '../src/storage/job-queue.ts';
import { migrate } from '../src/storage/migrate.ts';
import type { JobQueueOptions } from '../src/storage/pgboss.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import type { Store } from '../src/storage/store.ts';
import { type Backend, backends, skippedPostgres, throwawayDatabase } from './helpers/backends.ts';
import { waitFor } from './helpers/harness.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Fast settings: 2 retries after the first run, 1 s base delay, 2 s expiry, 1 s maintenance.
 * Polling every 0.5 s (pg-boss's minimum) keeps the poll's own latency from blurring a
 * constant retry delay into something that looks like backoff.
 */
const OPTS: JobQueueOptions = { retryLimit: 2, retryDelaySeconds: 1, expireSeconds: 2, maintenanceSeconds: 1, pollSeconds: 0.5 };

interface Run {
  job: Job;
  at: number;
}

/** A handler that records every run and answers what `answer` says for it. */
function recorder(answer: (job: Job) => JobResult | Promise<JobResult> = () => ({ outcome: 'done' })) {
  const runs: Run[] = [];
  return {
    runs,
    handler: async (job: Job): Promise<JobResult> => {
      runs.push({ job, at: Date.now() });
      return answer(job);
    },
  };
}

const HOUR = 3_600_000;

/** The newest dead letter, once there is one. */
async function deadLetter(store: Store, timeoutMs: number): Promise<DeadLetter> {
  const found = await waitFor(async () => (await store.jobs.deadLetters({ limit: 10, before: null }))[0] ?? null, timeoutMs, 'a dead letter');
  return found!;
}

const counts = async (store: Store, queue: QueueName) => (await store.jobs.status())[queue]!;

/** A store of `backend` with its queue started; closed (and its jobs with it) after `fn`. */
async function withStore(backend: Backend, fn: (store: Store) => Promise<void>) {
  const store = await backend.openStore({ jobs: OPTS });
  try {
    await store.jobs.start();
    await fn(store);
  } finally {
    await store.close();
  }
}

if (skippedPostgres) test('job queue on postgres', { skip: skippedPostgres }, () => {});

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

for (const backend of backends) {
  describe(`job queue on ${backend.name}`, () => {
    const dirs: string[] = [];
    after(() => {
      for (const child of children) child.kill('SIGKILL');
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    test('a job enqueued in a rolled-back transaction never runs; a committed one runs once with its data', async () => {
      await withStore(backend, async (store) => {
        const { runs, handler } = recorder();
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.jobs.enqueue([{ queue: QUEUES.email, data: { tag: 'rolled-back' } }]);
            throw new Error('roll back');
          }),
          /roll back/,
        );
        await store.transaction(async (tx) => {
          await tx.jobs.enqueue([{ queue: QUEUES.email, data: { tag: 'committed', n: 7 } }]);
        });
        await store.jobs.work(QUEUES.email, handler);
        store.jobs.wake(QUEUES.email);
        await waitFor(async () => (await counts(store, QUEUES.email)).completed === 1, 30_000, 'the committed job to complete');
        assert.equal(runs.length, 1);
        assert.deepEqual(runs[0]!.job.data, { tag: 'committed', n: 7 });
        assert.equal(runs[0]!.job.attempt, 1);
        assert.equal(runs[0]!.job.maxAttempts, 3);
        assert.equal(runs[0]!.job.queue, QUEUES.email);
        const c = await counts(store, QUEUES.email);
        // The rolled-back job does not exist at all: nothing queued, one run in all.
        assert.deepEqual([c.queued, c.retrying, c.active, c.failed, c.completed, c.attempts], [0, 0, 0, 0, 1, 1]);
      });
    });

    test('enqueueing the same explicit id twice runs the job once', async () => {
      await withStore(backend, async (store) => {
        const id = randomUUID();
        await store.jobs.enqueue([{ queue: QUEUES.email, id, data: { copy: 1 } }]);
        await store.transaction((tx) => tx.jobs.enqueue([{ queue: QUEUES.email, id, data: { copy: 2 } }]));
        assert.equal((await counts(store, QUEUES.email)).queued, 1);
        const { runs, handler } = recorder();
        await store.jobs.work(QUEUES.email, handler);
        store.jobs.wake(QUEUES.email);
        await waitFor(async () => (await counts(store, QUEUES.email)).completed === 1, 30_000, 'the job to complete');
        // Once more after it ran: still the same job, not a new one.
        await store.jobs.enqueue([{ queue: QUEUES.email, id, data: { copy: 3 } }]);
        const c = await counts(store, QUEUES.email);
        assert.deepEqual([c.queued, c.retrying, c.active, c.completed, c.attempts], [0, 0, 0, 1, 1]);
        assert.equal(runs.length, 1);
        assert.equal(runs[0]!.job.id, id);
        assert.deepEqual(runs[0]!.job.data, { copy: 1 });
      });
    });

    test('the push queue keeps one waiting job per singleton key; once it started, a new one queues', async () => {
      await withStore(backend, async (store) => {
        const key = `user-${randomBytes(4).toString('hex')}`;
        await store.jobs.enqueue([{ queue: QUEUES.push, singletonKey: key, data: { n: 1 } }]);
        await store.jobs.enqueue([{ queue: QUEUES.push, singletonKey: key, data: { n: 2 } }]);
        await store.transaction((tx) => tx.jobs.enqueue([{ queue: QUEUES.push, singletonKey: key, data: { n: 3 } }]));
        assert.equal((await counts(store, QUEUES.push)).queued, 1, 'one waiting job for the key');
        // Other keys, and jobs without a key, are not held back by it (deferred: they need not run).
        await store.jobs.enqueue([{ queue: QUEUES.push, singletonKey: `${key}-other`, data: { n: 10 }, delayMs: HOUR }]);
        await store.jobs.enqueue([{ queue: QUEUES.push, data: { n: 20 }, delayMs: HOUR }]);
        await store.jobs.enqueue([{ queue: QUEUES.push, data: { n: 21 }, delayMs: HOUR }]);
        assert.equal((await counts(store, QUEUES.push)).queued, 4);

        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const { runs, handler } = recorder(async (job) => {
          if (job.data.n === 1) await released;
          return { outcome: 'done' };
        });
        await store.jobs.work(QUEUES.push, handler);
        store.jobs.wake(QUEUES.push);
        await waitFor(() => runs.length > 0, 30_000, 'the first job of the key to start');
        assert.deepEqual(runs[0]!.job.data, { n: 1 });
        // It is running: a new job for the key is accepted (and only one).
        await store.jobs.enqueue([{ queue: QUEUES.push, singletonKey: key, data: { n: 4 } }]);
        await store.jobs.enqueue([{ queue: QUEUES.push, singletonKey: key, data: { n: 5 } }]);
        const during = await counts(store, QUEUES.push);
        assert.deepEqual([during.active, during.queued], [1, 4]);
        release();
        await waitFor(async () => (await counts(store, QUEUES.push)).completed === 2, 30_000, 'both jobs of the key to complete');
        assert.deepEqual(
          runs.map((r) => r.job.data.n),
          [1, 4],
        );
        assert.equal((await counts(store, QUEUES.push)).queued, 3);
      });
    });

    test('a job answering retry runs 3 times with growing backoff, then is dead-lettered with its queue, data and reason', async () => {
      await withStore(backend, async (store) => {
        const data = { to: 'ana@example.com', subject: 'hi' };
        const { runs, handler } = recorder(() => ({ outcome: 'retry', reason: 'smtp 451 try later' }));
        await store.jobs.work(QUEUES.email, handler);
        await store.jobs.enqueue([{ queue: QUEUES.email, data }]);
        store.jobs.wake(QUEUES.email);
        const dead = await deadLetter(store, 20_000);
        assert.deepEqual(
          runs.map((r) => r.job.attempt),
          [1, 2, 3],
        );
        assert.ok(runs.every((r) => r.job.id === runs[0]!.job.id && r.job.maxAttempts === 3));
        const gap1 = runs[1]!.at - runs[0]!.at;
        const gap2 = runs[2]!.at - runs[1]!.at;
        // pg-boss waits delay * 2^n / 2 plus up to as much jitter: [1, 2] s, then [2, 4] s.
        assert.ok(gap1 >= 900, `first retry after ${gap1} ms, expected >= 1 s`);
        assert.ok(gap2 >= 1900, `second retry after ${gap2} ms, expected >= 2 s (exponential backoff)`);
        assert.equal(dead.queue, QUEUES.email);
        assert.deepEqual(dead.data, data);
        assert.equal(dead.reason, 'smtp 451 try later');
        assert.ok(!Number.isNaN(Date.parse(dead.createdAt)));
        const c = await counts(store, QUEUES.email);
        assert.deepEqual([c.failed, c.attempts, c.deadLetters, c.queued, c.retrying, c.completed], [1, 3, 1, 0, 0, 0]);
        assert.equal(runs.length, 3);
      });
    });

    test('a job answering dead runs once and is dead-lettered at once', async () => {
      await withStore(backend, async (store) => {
        const { runs, handler } = recorder(() => ({ outcome: 'dead', reason: 'address rejected' }));
        await store.jobs.work(QUEUES.email, handler);
        await store.jobs.enqueue([{ queue: QUEUES.email, data: { to: 'nobody@example.invalid' } }]);
        store.jobs.wake(QUEUES.email);
        const dead = await deadLetter(store, 10_000);
        assert.equal(dead.queue, QUEUES.email);
        assert.deepEqual(dead.data, { to: 'nobody@example.invalid' });
        assert.equal(dead.reason, 'address rejected');
        const c = await counts(store, QUEUES.email);
        assert.deepEqual([c.failed, c.attempts, c.deadLetters, c.retrying, c.queued], [1, 1, 1, 0, 0]);
        assert.equal(runs.length, 1);
        assert.equal(runs[0]!.job.attempt, 1);
      });
    });

    test('retry with retryAfterMs waits at least that long before the next attempt', async () => {
      await withStore(backend, async (store) => {
        const { runs, handler } = recorder((job) =>
          job.attempt === 1 ? { outcome: 'retry', reason: '429 slow down', retryAfterMs: 3500 } : { outcome: 'done' },
        );
        await store.jobs.work(QUEUES.fcm, handler);
        await store.jobs.enqueue([{ queue: QUEUES.fcm, data: { token: 't1' } }]);
        store.jobs.wake(QUEUES.fcm);
        await waitFor(async () => (await counts(store, QUEUES.fcm)).completed === 1, 15_000, 'the retried job to complete');
        assert.deepEqual(
          runs.map((r) => r.job.attempt),
          [1, 2],
        );
        const gap = runs[1]!.at - runs[0]!.at;
        assert.ok(gap >= 3400, `second attempt after ${gap} ms, expected >= 3.5 s (Retry-After)`);
        assert.deepEqual(runs[1]!.job.data, { token: 't1' });
      });
    });

    test('retryDeadLetter puts a dead letter back on its queue; an unknown id answers false', async () => {
      await withStore(backend, async (store) => {
        let healthy = false;
        const { runs, handler } = recorder(() => (healthy ? { outcome: 'done' } : { outcome: 'dead', reason: 'endpoint gone' }));
        await store.jobs.work(QUEUES.webpush, handler);
        const data = { endpoint: 'https://push.example/abc' };
        await store.jobs.enqueue([{ queue: QUEUES.webpush, data }]);
        store.jobs.wake(QUEUES.webpush);
        const dead = await deadLetter(store, 10_000);
        assert.equal(dead.queue, QUEUES.webpush);
        assert.equal(runs.length, 1);

        healthy = true;
        assert.equal(await store.jobs.retryDeadLetter(dead.id), true);
        await waitFor(async () => (await counts(store, QUEUES.webpush)).completed === 1, 30_000, 'the retried dead letter to complete');
        assert.equal(runs.length, 2);
        assert.deepEqual(runs[1]!.job.data, data);
        assert.equal(runs[1]!.job.queue, QUEUES.webpush);
        assert.equal(runs[1]!.job.attempt, 1, 'fresh attempts');
        assert.deepEqual(await store.jobs.deadLetters({ limit: 10, before: null }), []);
        assert.equal((await counts(store, QUEUES.webpush)).deadLetters, 0);
        // Retried already, and never existed: both false.
        assert.equal(await store.jobs.retryDeadLetter(dead.id), false);
        assert.equal(await store.jobs.retryDeadLetter(randomUUID()), false);
      });
    });

    test('a handler that throws is retried like retry', async () => {
      await withStore(backend, async (store) => {
        const { runs, handler } = recorder((job) => {
          if (job.attempt === 1) throw new Error('socket hang up');
          return { outcome: 'done' };
        });
        await store.jobs.work(QUEUES.apns, handler);
        await store.jobs.enqueue([{ queue: QUEUES.apns, data: { device: 'd1' } }]);
        store.jobs.wake(QUEUES.apns);
        await waitFor(async () => (await counts(store, QUEUES.apns)).completed === 1, 30_000, 'the retried job to complete');
        assert.deepEqual(
          runs.map((r) => r.job.attempt),
          [1, 2],
        );
        assert.equal(runs[0]!.job.id, runs[1]!.job.id);
        const gap = runs[1]!.at - runs[0]!.at;
        assert.ok(gap >= 900, `retried after ${gap} ms, expected the backoff (>= 1 s)`);
        const c = await counts(store, QUEUES.apns);
        assert.deepEqual([c.completed, c.attempts, c.failed, c.deadLetters], [1, 2, 0, 0]);
      });
    });

    test('a worker killed mid-job does not lose it: after expiry another worker runs it again', async () => {
      // The database the child opens: a PGlite data dir (closed here before the child
      // starts: PGlite is single-process) or a throwaway PostgreSQL database.
      let where: string;
      let reopen: () => Promise<Store>;
      let store: Store | null = null;
      let dropDb = async () => {};
      if (backend.name === 'pglite') {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-jobs-'));
        dirs.push(dir);
        where = path.join(dir, 'data');
        const template = fs.readFileSync(await ensurePgliteTemplate());
        const db = await openPglite({ dataDir: where, loadDataDir: new Blob([template]) });
        await migrate(db);
        reopen = async () => createSqlStore(await openPglite({ dataDir: where }), { jobs: OPTS });
        const setup = createSqlStore(db, { jobs: OPTS });
        await setup.jobs.start();
        await setup.jobs.enqueue([{ queue: QUEUES.email, data: { tag: 'survivor' } }]);
        await setup.close();
      } else {
        const database = await throwawayDatabase('parley_jobs');
        where = database.url;
        dropDb = database.drop;
        const db = await openPostgres(where, { max: 4 });
        await migrate(db);
        // PostgreSQL serves both processes: this store stays open, its worker starts after the kill.
        const shared = createSqlStore(db, { jobs: OPTS });
        store = shared;
        await shared.jobs.start();
        await shared.jobs.enqueue([{ queue: QUEUES.email, data: { tag: 'survivor' } }]);
        reopen = async () => shared;
      }

      try {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/job-worker-child.ts', backend.name, where, QUEUES.email, JSON.stringify(OPTS)], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.add(child);
        child.once('exit', () => children.delete(child));
        let out = '';
        child.stderr!.on('data', (d) => (out += d));
        const started = await new Promise<{ id: string; attempt: number }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the child took no job in 30 s:\n${out}`)), 30_000);
          child.stdout!.on('data', (d) => {
            out += d;
            const m = /started (\S+) (\d+)/.exec(out);
            if (m) {
              clearTimeout(timer);
              resolve({ id: m[1]!, attempt: Number(m[2]) });
            }
          });
          child.once('exit', (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`the child exited (${code ?? signal}) before taking the job:\n${out}`));
          });
        });
        // Mid-job, no shutdown: the job is left active by a worker that no longer exists.
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        });
        assert.equal(started.attempt, 1);

        store = await reopen();
        await store.jobs.start();
        assert.equal((await counts(store, QUEUES.email)).active, 1, 'the killed worker left its job active');
        const { runs, handler } = recorder();
        await store.jobs.work(QUEUES.email, handler);
        await waitFor(async () => (await counts(store!, QUEUES.email)).completed === 1, 20_000, 'the lost job to run again and complete');
        assert.equal(runs.length, 1);
        assert.equal(runs[0]!.job.id, started.id);
        assert.equal(runs[0]!.job.attempt, 2);
        assert.deepEqual(runs[0]!.job.data, { tag: 'survivor' });
      } finally {
        await store?.close();
        await dropDb();
      }
    });
  });
}

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
