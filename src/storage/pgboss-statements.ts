// Statements of Parley's own on pg-boss's tables, and the one of pg-boss's it rewrites.
import type { Queryable } from './db.ts';
import type { QueueName } from './job-queue.ts';

/**
 * pg-boss's fetch takes a queue's due jobs by priority, then age (`ORDER BY priority desc,
 * created_on, id`), and no index holds due jobs in that order: its own (job_i5) is by due
 * time, so every fetch read and sorted every due job of its queue. With a backlog of 5,000
 * push jobs (a message to a group whose members are offline) a fetch cost PostgreSQL about
 * 12 ms, and draining a backlog grew with its square. Parley gives no job a priority, so here
 * the fetch takes them by due time, which job_i5 holds: it reads the first due job and stops,
 * however many wait or are held for later (quiet hours, a retry's backoff). The job due
 * longest goes first; jobs due at the same moment go in the index's order.
 */
const FETCH_ORDER = /ORDER BY priority desc, created_on, id(\s+LIMIT \$2\s+FOR UPDATE SKIP LOCKED)/;
export const byDueTime = (text: string) => text.replace(FETCH_ORDER, 'ORDER BY start_after$1');

/**
 * Completes a batch's done jobs, each with its own output, in one statement. The ids as an
 * array probe the queue's key once each; joined to a set of rows instead, they were planned
 * as a scan of the queue's whole partition, completed jobs and all.
 */
export async function completeWith(q: Queryable, schema: string, name: QueueName, done: { id: string; output: Record<string, unknown> }[]) {
  await q.query(
    `UPDATE ${schema}.job SET completed_on = now(), state = 'completed', output = $3::jsonb -> id::text
     WHERE name = $1 AND id = ANY ($2::uuid[]) AND state = 'active'`,
    [name, done.map((d) => d.id), JSON.stringify(Object.fromEntries(done.map((d) => [d.id, d.output])))],
  );
}

/** Refreshes the statistics of a queue's partition of the job table (pg-boss names them j + a hash). */
export async function analyzeQueue(q: Queryable, schema: string, name: QueueName) {
  const [row] = await q.query<{ partition: string }>(`SELECT partition_name AS partition FROM ${schema}.queue WHERE name = $1`, [name]);
  if (row && /^j[0-9a-f]+$/.test(row.partition)) await q.exec(`ANALYZE ${schema}.${row.partition}`);
}
