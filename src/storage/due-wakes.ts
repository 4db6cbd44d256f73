import type { QueueName } from './job-queue.ts';

/** Due times are kept to this grain: jobs of a queue falling due within one share a wake. */
const GRAIN_MS = 100;
/** Most due times kept at once. A job past them is found by the idle poll instead. */
const MAX_DUE_TIMES = 10_000;
/** How long after its due time a wake goes: the database takes a job once start_after < now(). */
const AFTER_DUE_MS = 20;
/** setTimeout's longest delay; a wake further off is re-armed when this one ends. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Wakes a queue's idle workers when the jobs this process scheduled for later fall due: a
 * delayed enqueue (a conversation's push after its coalescing window, a push held through
 * quiet hours, a receipt check) or a retry backing off. Before, only the workers' polling
 * found them: a push went out up to a poll interval after its time, and every idle worker
 * had to poll every few seconds, which on PGlite is the server's own CPU however quiet it is.
 * The poll is left for what no one here wakes for: another instance's jobs, or a job whose
 * worker died.
 *
 * Times are this process's clock (Date.now()). One timer serves every queue, armed for the
 * earliest due time; the times wait in a min-heap.
 */
export function createDueWakes(wake: (queue: QueueName, jobs: number) => void) {
  /** Due time (a multiple of GRAIN_MS) → jobs falling due then, by queue. */
  const due = new Map<number, Map<QueueName, number>>();
  /** The keys of `due`, as a binary min-heap. */
  const heap: number[] = [];
  let timer: NodeJS.Timeout | null = null;
  let armedFor = Number.POSITIVE_INFINITY;

  function push(t: number) {
    heap.push(t);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= t) break;
      heap[i] = heap[parent]!;
      heap[parent] = t;
      i = parent;
    }
  }

  function pop(): number {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < heap.length && heap[l]! < heap[least]!) least = l;
        if (r < heap.length && heap[r]! < heap[least]!) least = r;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least]!, heap[i]!];
        i = least;
      }
    }
    return top;
  }

  function arm() {
    const next = heap[0];
    if (next === undefined || next >= armedFor) return;
    if (timer) clearTimeout(timer);
    armedFor = next;
    timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, next + AFTER_DUE_MS - Date.now())));
    // A pending wake must not keep the process alive: the jobs are durable, and the next start finds them.
    timer.unref();
  }

  function fire() {
    timer = null;
    armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now() - AFTER_DUE_MS;
    const jobs = new Map<QueueName, number>();
    while (heap.length > 0 && heap[0]! <= now) {
      const t = pop();
      for (const [queue, n] of due.get(t)!) jobs.set(queue, (jobs.get(queue) ?? 0) + n);
      due.delete(t);
    }
    arm();
    for (const [queue, n] of jobs) wake(queue, n);
  }

  return {
    /** `jobs` jobs of `queue` fall due at `atMs` (this process's clock). */
    at(queue: QueueName, atMs: number, jobs = 1) {
      const t = Math.ceil(atMs / GRAIN_MS) * GRAIN_MS;
      let queues = due.get(t);
      if (!queues) {
        if (due.size >= MAX_DUE_TIMES) return;
        queues = new Map();
        due.set(t, queues);
        push(t);
      }
      queues.set(queue, (queues.get(queue) ?? 0) + jobs);
      arm();
    },
    /** Due times waiting (tests). */
    get size() {
      return due.size;
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      armedFor = Number.POSITIVE_INFINITY;
      due.clear();
      heap.length = 0;
    },
  };
}
