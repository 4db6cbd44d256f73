import type { DeadLetterQuery } from '../../protocol/schemas.ts';
import { notFound } from '../errors.ts';
import { QUEUES, type QueueCounts, type QueueName } from '../storage/job-queue.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { ServiceDeps } from './deps.ts';
import type { InstanceInfo, InstanceRegistry } from '../realtime/instances.ts';
import type { PresenceStore } from '../realtime/presence.ts';

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

/** Online users whose conversations are counted for the status; past it the count is a floor. */
const ONLINE_SAMPLE = 50_000;

export interface ClusterStatus {
  /** Instances heard from lately: id, start, live connections by gateway. */
  instances: InstanceInfo[];
  connectedClients: number;
  onlineUsers: number;
  /** Conversations with at least one online member (a floor past 50,000 online users). */
  conversationsWithLiveMembers: number;
}

/**
 * Operators' view: the cluster (instances, clients, online users, live conversations) and
 * delivery (queue depths, attempts, failures, dead letters).
 */
export function adminService(deps: ServiceDeps & { instances: InstanceRegistry; presence: PresenceStore; instanceStaleMs: number }) {
  const { store } = deps;

  /**
   * Delivery jobs by channel (queue depths, attempts, failures, dead letters), alone: what
   * /metrics reports at every scrape, without the rest of the status (a sample of up to
   * 50,000 online users and a count of their conversations).
   */
  async function channels(): Promise<Record<string, QueueCounts>> {
    const byQueue = await store.jobs.status();
    const out: Record<string, QueueCounts> = {};
    for (const [channel, queue] of Object.entries(CHANNELS)) out[channel] = byQueue[queue]!;
    return out;
  }

  return {
    channels,

    async status(): Promise<ClusterStatus & { channels: Record<string, QueueCounts> }> {
      const [byChannel, instances, online] = await Promise.all([
        channels(),
        deps.instances.list(deps.now().getTime() - deps.instanceStaleMs),
        deps.presence.online(ONLINE_SAMPLE),
      ]);
      return {
        instances,
        connectedClients: instances.reduce((sum, i) => sum + Object.values(i.connections).reduce((a, b) => a + b, 0), 0),
        onlineUsers: online.count,
        conversationsWithLiveMembers: await store.members.conversationsWith(online.userIds),
        channels: byChannel,
      };
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
