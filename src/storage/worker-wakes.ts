import type { QueueName } from './job-queue.ts';
import { wakeGatherer } from './wake-gather.ts';

/** One of this process's workers of a queue (pg-boss's worker id), and whether it is running a batch. */
export interface WorkerSlot {
  id: string;
  busy: boolean;
}

/**
 * Which of this process's workers fetch, and when. A wake (gathered: wake-gather.ts) rouses
 * as many idle workers as its jobs fill batches: waking all four of a device queue for a
 * push to one device made three empty fetches. A worker whose batch ends fetches again at
 * once only when more may wait: its batch was full, or a wake found too few workers idle.
 * After a batch that was not full the queue had nothing more when it was fetched, and what
 * comes later comes with a wake; fetching again anyway found nothing, or took the next
 * decision's one job ahead of its gathered wake (a fetch each, the batches never filling).
 */
export function workerWakes(notify: (workerId: string) => void) {
  const batches = new Map<QueueName, number>();
  const workers = new Map<QueueName, WorkerSlot[]>();
  /** Queues woken while too few of their workers were idle. */
  const missed = new Set<QueueName>();
  const batchOf = (name: QueueName) => batches.get(name) ?? 1;

  function rouse(name: QueueName, jobs: number) {
    const list = workers.get(name) ?? [];
    const wanted = Math.ceil(jobs / batchOf(name));
    const idle = list.filter((w) => !w.busy).slice(0, wanted);
    if (idle.length < wanted) missed.add(name);
    for (const w of idle) {
      // To the back, so the next wake goes to another worker.
      list.splice(list.indexOf(w), 1);
      list.push(w);
      notify(w.id);
    }
  }
  const gatherer = wakeGatherer(rouse, batchOf);

  return {
    add(name: QueueName, batch: number, slots: WorkerSlot[]) {
      batches.set(name, batch);
      workers.set(name, [...(workers.get(name) ?? []), ...slots]);
    },
    remove(name: QueueName, slots: WorkerSlot[]) {
      workers.set(
        name,
        (workers.get(name) ?? []).filter((w) => !slots.includes(w)),
      );
    },
    /** New jobs in `name`: its idle workers are roused for them, after gathering. */
    wake: (name: QueueName, jobs: number) => gatherer.wake(name, jobs),
    /** A batch of `taken` jobs ended: whether its worker fetches again at once. */
    again(name: QueueName, taken: number): boolean {
      return taken >= batchOf(name) || missed.delete(name);
    },
    stop: () => gatherer.stop(),
  };
}
