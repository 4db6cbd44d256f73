import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openPglite } from '../src/storage/db-pglite.ts';
import { openPostgres } from '../src/storage/db-pg.ts';
import { type DeadLetter, QUEUES } from '../src/storage/job-queue.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import type { Store } from '../src/storage/store.ts';
import { type Backend, backends, skippedPostgres, throwawayDatabase } from './helpers/backends.ts';
import { waitFor } from './helpers/harness.ts';
import { counts, OPTS, recorder } from './helpers/job-recorder.ts';
import { ensurePgliteTemplate } from './helpers/pglite-template.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

const HOUR = 3_600_000;

/** The newest dead letter, once there is one. */
async function deadLetter(store: Store, timeoutMs: number): Promise<DeadLetter> {
  const found = await waitFor(async () => (await store.jobs.deadLetters({ limit: 10, before: null }))[0] ?? null, timeoutMs, 'a dead letter');
  return found!;
}

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
