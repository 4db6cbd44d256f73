import type { Job, JobResult, QueueName } from '../../src/storage/job-queue.ts';
import type { JobQueueOptions } from '../../src/storage/pgboss.ts';
import type { Store } from '../../src/storage/store.ts';

/**
 * Fast settings: 2 retries after the first run, 1 s base delay, 2 s expiry, 1 s maintenance.
 * Polling every 0.5 s (pg-boss's minimum) keeps the poll's own latency from blurring a
 * constant retry delay into something that looks like backoff.
 */
export const OPTS: JobQueueOptions = { retryLimit: 2, retryDelaySeconds: 1, expireSeconds: 2, maintenanceSeconds: 1, pollSeconds: 0.5 };

export interface Run {
  job: Job;
  at: number;
}

/** A handler that records every run and answers what `answer` says for it. */
export function recorder(answer: (job: Job) => JobResult | Promise<JobResult> = () => ({ outcome: 'done' })) {
  const runs: Run[] = [];
  return {
    runs,
    handler: async (job: Job): Promise<JobResult> => {
      runs.push({ job, at: Date.now() });
      return answer(job);
    },
  };
}

/** A queue's job counts (queued, active, completed...). */
export const counts = async (store: Store, queue: QueueName) => (await store.jobs.status())[queue]!;
