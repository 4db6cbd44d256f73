import type { DevicePlatform } from '../domain/types.ts';

/**
 * The job queue port: durable delivery work (push, email, digests) kept in the same
 * database as everything else, so work can be enqueued in the transaction that caused it.
 * One engine (pg-boss) serves PGlite and PostgreSQL; see pgboss.ts.
 */

/** Every queue Parley uses. A channel queue holds one delivery to one device or address. */
export const QUEUES = {
  /** Decide what to push for a (user, conversation) or an inbox notification, then fan out per device. */
  push: 'parley.push',
  apns: 'parley.push.apns',
  fcm: 'parley.push.fcm',
  webpush: 'parley.push.webpush',
  expo: 'parley.push.expo',
  email: 'parley.email',
  /** The periodic digest run (a schedule). */
  digest: 'parley.digest',
  /** Jobs that ran out of attempts or failed for good, with the queue they came from. */
  dead: 'parley.dead',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
/** Each push platform's delivery queue. */
export const PLATFORM_QUEUES: Record<DevicePlatform, QueueName> = { apns: QUEUES.apns, fcm: QUEUES.fcm, webpush: QUEUES.webpush, expo: QUEUES.expo };
/** Queues whose jobs retry and dead-letter (the digest schedule just runs again next time). */
export const DELIVERY_QUEUES: QueueName[] = [QUEUES.push, QUEUES.apns, QUEUES.fcm, QUEUES.webpush, QUEUES.expo, QUEUES.email];

export interface JobSpec {
  queue: QueueName;
  /** Any JSON-serialisable object (stored as jsonb). */
  data: object;
  /** A deterministic id makes the enqueue idempotent: a second one with the same id is dropped. */
  id?: string;
  /**
   * In the push queue, at most one job per key waits at a time: enqueueing another while
   * one is queued is dropped, once it has started a new one may queue (a debounce).
   */
  singletonKey?: string;
  /** Not before this long from now (by this machine's clock, whatever clock the caller uses). */
  delayMs?: number;
}

export interface Job<D = Record<string, unknown>> {
  id: string;
  queue: QueueName;
  data: D;
  /** 1 on the first run. */
  attempt: number;
  /** Runs allowed in all (first run plus retries). */
  maxAttempts: number;
}

/** How a job ended; `retry` backs off exponentially (or honours retryAfterMs) until attempts run out. */
export type JobResult =
  | { outcome: 'done'; output?: Record<string, unknown> }
  | { outcome: 'retry'; reason: string; retryAfterMs?: number }
  | { outcome: 'dead'; reason: string };

export type JobHandler<D = Record<string, unknown>> = (job: Job<D>) => Promise<JobResult>;
/**
 * Runs a whole batch at once and answers each job's result, in order. If it throws for a
 * batch of several, each of its jobs is run again alone at once, so that one job that cannot
 * be done fails (and retries) alone; a job alone that throws is failed and retried.
 */
export type BatchHandler<D = Record<string, unknown>> = (jobs: Job<D>[]) => Promise<JobResult[]>;

export interface QueueCounts {
  queued: number;
  active: number;
  retrying: number;
  completed: number;
  failed: number;
  /** Runs made, first runs and retries together. */
  attempts: number;
  deadLetters: number;
}

export interface DeadLetter {
  id: string;
  queue: QueueName;
  data: object;
  reason: string;
  createdAt: string;
}

export interface JobQueue {
  start(): Promise<void>;
  /** Errors of the engine itself (polling, maintenance), for the log; answers an unsubscribe. */
  onError(listener: (err: unknown) => void): () => void;
  /** Enqueues outside any transaction. */
  enqueue(specs: JobSpec[]): Promise<void>;
  /**
   * Starts workers; the answer stops them and waits for the jobs they are running. `batch`:
   * jobs a worker takes per fetch (1 unless given), run one after another and completed
   * together; with `sideBySide`, all at once (for jobs that mostly wait, on a provider's
   * answer: the batch then lasts as long as its slowest job). A batch must end within the
   * job expiry, or its jobs not yet completed are run again: only for jobs that are quick, or
   * side by side and bounded by a timeout well inside the expiry (a device push: 10 s of 60).
   */
  work<D>(queue: QueueName, handler: JobHandler<D>, opts?: { concurrency?: number; batch?: number; sideBySide?: boolean }): Promise<() => Promise<void>>;
  /** As `work`, with one call of the handler per batch: for jobs whose work goes in set-based statements. */
  workBatches<D>(queue: QueueName, handler: BatchHandler<D>, opts: { concurrency?: number; batch: number }): Promise<() => Promise<void>>;
  /** Wakes this process's idle workers of a queue, one per new job or batch of them (`jobs`, 1 by default), now rather than at their next poll. */
  wake(queue: QueueName, jobs?: number): void;
  /** Those of `singletonKeys` whose job in `queue` is waiting to start (a push queue key; see JobSpec.singletonKey). */
  waiting(queue: QueueName, singletonKeys: string[]): Promise<Set<string>>;
  status(): Promise<Record<string, QueueCounts>>;
  deadLetters(page: { limit: number; before: { at: string; id: string } | null }): Promise<DeadLetter[]>;
  /** Puts a dead letter back on its queue with fresh attempts; false when there is no such dead letter. */
  retryDeadLetter(id: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** The transactional side: what a store transaction can enqueue. */
export interface JobRepo {
  enqueue(specs: JobSpec[]): Promise<void>;
}
