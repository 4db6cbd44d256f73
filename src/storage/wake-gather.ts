import type { QueueName } from './job-queue.ts';

/** How long a wake of a batched queue waits for more jobs to fill a batch. */
export const GATHER_MS = 20;

/**
 * Wakes of a queue whose workers take jobs in batches, gathered for a moment. Each push
 * decision enqueues its device's job and wakes the device queue; woken at once, a worker
 * fetched that one job, and a message to a large group's offline members made a fetch per
 * push (pg-boss's fetch, planned anew each call, was PostgreSQL's largest statement). A
 * wake now waits up to GATHER_MS for the jobs of the next few decisions, and goes at once
 * when they fill a batch. A queue taking one job a fetch is woken at once, as before.
 */
export function wakeGatherer(rouse: (name: QueueName, jobs: number) => void, batchOf: (name: QueueName) => number) {
  const pending = new Map<QueueName, { jobs: number; timer: NodeJS.Timeout }>();
  const flush = (name: QueueName) => {
    const p = pending.get(name);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(name);
    rouse(name, p.jobs);
  };
  return {
    wake(name: QueueName, jobs: number) {
      const batch = batchOf(name);
      if (batch <= 1) return rouse(name, jobs);
      let p = pending.get(name);
      if (!p) {
        p = { jobs: 0, timer: setTimeout(() => flush(name), GATHER_MS) };
        pending.set(name, p);
      }
      p.jobs += jobs;
      if (p.jobs >= batch) flush(name);
    },
    /** Drops the wakes still gathering (the workers are stopping). */
    stop() {
      for (const p of pending.values()) clearTimeout(p.timer);
      pending.clear();
    },
  };
}
