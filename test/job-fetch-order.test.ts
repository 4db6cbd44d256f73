import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import plans from 'pg-boss/src/plans.js';
import { type JobSpec, QUEUES } from '../src/storage/job-queue.ts';
import { byDueTime } from '../src/storage/pgboss.ts';
import { backends, skippedPostgres, type TestStore } from './helpers/backends.ts';
import { OPTS } from './helpers/job-recorder.ts';

// pg-boss's fetch as its workers send it (manager.work: metadata included, by priority), as
// the job queue's connection to pg-boss rewrites it.
const FETCH = byDueTime(plans.fetchNextJob('pgboss')({ includeMetadata: true, priority: true }));
const BACKLOG = 2000;
const HOUR = 3_600_000;

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

/** Runs one fetch of `queue` as pg-boss's workers do; answers how many jobs its scans read and the job it took. */
async function fetchOnce(store: TestStore, queue: string): Promise<{ read: number; took: string | null }> {
  const rows = await store.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${FETCH}`, [queue, 1]);
  const raw = rows[0]!['QUERY PLAN'];
  const [{ Plan }] = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: PlanNode }];
  const [next] = find(Plan, (n) => n['Subplan Name'] === 'CTE next');
  assert.ok(next, 'the plan has the fetch\'s "next" step');
  // The queue's partition of the job table (pg-boss names them j + a hash).
  const scans = find(next, (n) => n['Node Type'].endsWith('Scan') && /^j[0-9a-f]+$/.test(n['Relation Name'] ?? ''));
  assert.ok(scans.length > 0, "the fetch scans the queue's partition");
  const [taken] = await store.query<{ data: { queue: string; payload: { tag: string } } }>(`SELECT data FROM pgboss.job WHERE name = $1 AND state = 'active'`, [queue]);
  return { read: scans.reduce((sum, n) => sum + (n['Actual Rows'] ?? 0), 0), took: taken?.data.payload.tag ?? null };
}

const jobs = (n: number, tag: string, delayMs?: number): JobSpec[] =>
  Array.from({ length: n }, () => ({ queue: QUEUES.email, data: { tag }, ...(delayMs ? { delayMs } : {}) }));

if (skippedPostgres) test('job fetch on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`job fetch on ${backend.name}`, () => {
    // pg-boss's own order (priority, then age) is in no index among due jobs, so each fetch read
    // and sorted every due job of its queue: draining a backlog cost its square (a message to a
    // group of offline members is a push job for each of them).
    test(`a fetch reads the first due job and stops, behind ${BACKLOG} due jobs`, async () => {
      const store = await backend.openStore({ jobs: OPTS });
      try {
        await store.jobs.start();
        await store.jobs.enqueue(jobs(BACKLOG, 'waiting'));
        const { read, took } = await fetchOnce(store, QUEUES.email);
        assert.ok(read <= 5, `the fetch read ${read} of ${BACKLOG} due jobs to take one`);
        assert.equal(took, 'waiting');
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
        assert.ok(read <= 5, `the fetch read ${read} jobs to take the one due`);
        assert.equal(took, 'due');
      } finally {
        await store.close();
      }
    });
  });
}
