import type { DeadLetterQuery } from '../../protocol/schemas.ts';
import { notFound } from '../errors.ts';
import { QUEUES, type QueueCounts, type QueueName } from '../storage/job-queue.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { ServiceDeps } from './deps.ts';

/** Operators see channels, not queue names: `push` is the decision step before the per-platform queues. */
const CHANNELS: Record<string, QueueName> = {
  push: QUEUES.push,
  apns: QUEUES.apns,
  fcm: QUEUES.fcm,
  webpush: QUEUES.webpush,
  expo: QUEUES.expo,
  email: QUEUES.email,
};
const channelOf = (queue: QueueName): string => Object.entries(CHANNELS).find(([, q]) => q === queue)?.[0] ?? queue;

/** Delivery visibility for operators: queue depths, attempts, failures, dead letters. */
export function adminService(deps: ServiceDeps) {
  const { store } = deps;
  return {
    async status(): Promise<{ channels: Record<string, QueueCounts> }> {
      const byQueue = await store.jobs.status();
      const channels: Record<string, QueueCounts> = {};
      for (const [channel, queue] of Object.entries(CHANNELS)) channels[channel] = byQueue[queue]!;
      return { channels };
    },

    async deadLetters(q: DeadLetterQuery) {
      const limit = q.limit ?? 50;
      const rows = await store.jobs.deadLetters({ limit, before: q.cursor ? decodeCursor(q.cursor) : null });
      const last = rows.length === limit ? rows[limit - 1] : undefined;
      return {
        deadLetters: rows.map(({ queue, ...d }) => ({ ...d, channel: channelOf(queue) })),
        nextCursor: last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },

    /** Puts a dead letter back on its channel's queue with fresh attempts. */
    async retryDeadLetter(id: string): Promise<{ retried: true }> {
      if (!(await store.jobs.retryDeadLetter(id))) throw notFound('Dead letter not found');
      return { retried: true };
    },
  };
}

export type AdminService = ReturnType<typeof adminService>;
