import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import plans from 'pg-boss/src/plans.js';
import { type JobSpec, QUEUES, type QueueName } from '../src/storage/job-queue.ts';
import { byDueTime } from '../src/storage/pgboss-statements.ts';
import { backends, skippedPostgres, type TestStore } from './helpers/backends.ts';
import { waitFor } from './helpers/harness.ts';
import { OPTS } from './helpers/job-recorder.ts';

// pg-boss's fetch as its workers send it (manager.work: metadata included, by priority), as
// the job queue's connection to pg-boss rewrites it. The push queue's workers take ten jobs a
// fetch (src/delivery/workers.ts), the others one.
const FETCH = byDueTime(plans.fetchNextJob('pgboss')({ includeMetadata: true, priority: true }));
const BACKLOG = 2000;
const HOUR = 3_600_000;
const BATCH = 10;

interface PlanNode {
  'Node Type': string;
  'Subplan Name'?: string;
  'Actual Rows'?: number;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const find = (node: PlanNode, pick: (n: PlanNode) => boolean): PlanNode[] => [
  ...(pick(node) ? [node] : []),
  ...(node.Plans ?? []).flatMap((child) => find(child, pick)),
];

/**
 * Runs one fetch of `queue` as a worker does (a batch); answers how many jobs its scans read
 * and the jobs it took. The job table's statistics first, as autovacuum (PostgreSQL) and the
 * embedded vacuum (PGlite) keep them: planned as if the table were empty, a fetch of several
 * may read the due jobs and sort them, as pg-boss's own order always did.
 */
async function fetchOnce(store: TestStore, queue: string): Promise<{ read: number; took: string[] }> {
  await store.query('ANALYZE pgboss.job');
  const rows = await store.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${FETCH}`, [queue, BATCH]);
  const raw = rows[0]!['QUERY PLAN'];
  const [{ Plan }] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: PlanNode }];
  const [next] = find(Plan, (n) => n['Subplan Name'] === 'CTE next');
  assert.ok(next, 'the plan has the fetch\'s "next" step');
  // The queue's partition of the job table (pg-boss names them j + a hash).
  const scans = find(next, (n) => n['Node Type'].endsWith('Scan') && /^j[0-9a-f]+$/.test(n['Relation Name'] ?? ''));
  assert.ok(scans.length > 0, "the fetch scans the queue's partition");
  const taken = await store.query<{ data: { queue: string; payload: { tag: string } } }>(`SELECT data FROM pgboss.job WHERE name = $1 AND state = 'active'`, [queue]);
  return { read: scans.reduce((sum, n) => sum + (n['Actual Rows'] ?? 0), 0), took: taken.map((t) => t.data.payload.tag) };
}

const jobs = (n: number, tag: string, delayMs?: number): JobSpec[] =>
  Array.from({ length: n }, () => ({ queue: QUEUES.email, data: { tag }, ...(delayMs ? { delayMs } : {}) }));

if (skippedPostgres) test('job fetch on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`job fetch on ${backend.name}`, () => {
    // pg-boss's own order (priority, then age) is in no index among due jobs, so each fetch read
    // and sorted every due job of its queue: draining a backlog cost its square (a message to a
    // group of offline members is a push job for each of them).
    test(`a fetch reads the first due jobs and stops, behind ${BACKLOG} due jobs`, async () => {
      const store = await backend.openStore({ jobs: OPTS });
      try {
        await store.jobs.start();
        await store.jobs.enqueue(jobs(BACKLOG, 'waiting'));
        const { read, took } = await fetchOnce(store, QUEUES.email);
        assert.ok(read <= BATCH + 5, `the fetch read ${read} of ${BACKLOG} due jobs to take ${BATCH}`);
        assert.deepEqual(took, Array(BATCH).fill('waiting'));
      } finally {
        await store.close();
      }
    });

    // Jobs held for later (quiet hours, a retry backing off) come before a due one in age, not in due time.
    test(`a fetch finds a due job without reading ${BACKLOG} jobs held for later that are older`, async () => {
      const store = await backend.openStore({ jobs: OPTS });
      try {
        await store.jobs.start();
        await store.jobs.enqueue(jobs(BACKLOG, 'held', HOUR));
        await store.jobs.enqueue(jobs(1, 'due'));
        const { read, took } = await fetchOnce(store, QUEUES.email);
        assert.ok(read <= BATCH + 5, `the fetch read ${read} jobs to take the one due`);
        assert.deepEqual(took, ['due']);
      } finally {
        await store.close();
      }
    });

    // Until the queue's partition is analyzed, a fetch is planned as if it were nearly empty.
    // A device queue's burst comes a push decision's job or two a wake: counted over wakes.
    test('a burst of jobs has their queue analyzed at once, woken all together or a job at a time', async () => {
      const store = await backend.openStore({ jobs: OPTS });
      try {
        await store.jobs.start();
        const analyses = async (queue: QueueName) => {
          const [row] = await store.query<{ n: number }>(
            `SELECT coalesce(sum(s.analyze_count), 0)::int AS n FROM pgboss.queue q
             JOIN pg_stat_user_tables s ON s.schemaname = 'pgboss' AND s.relname = q.partition_name WHERE q.name = $1`,
            [queue],
          );
          return row!.n;
        };
        const before = await analyses(QUEUES.email);
        await store.jobs.enqueue(jobs(600, 'burst'));
        store.jobs.wake(QUEUES.email, 600);
        await waitFor(async () => (await analyses(QUEUES.email)) > before || null, 15_000, "the burst's queue analyzed");
        const one = await analyses(QUEUES.fcm);
        for (let i = 0; i < 600; i++) {
          await store.jobs.enqueue([{ queue: QUEUES.fcm, data: { i } }]);
          store.jobs.wake(QUEUES.fcm, 1);
        }
        await waitFor(async () => (await analyses(QUEUES.fcm)) > one || null, 15_000, 'the queue woken a job at a time analyzed');

      } finally {
        await store.close();
      }
    });
  });
}
