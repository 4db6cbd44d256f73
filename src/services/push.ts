import { clip } from '../domain/text.ts';
import { preferencesOf } from './notifications.ts';
import { stableUuid } from '../domain/ids.ts';
import { channelOn, holdEndsAt, isHeld } from '../domain/notifications.ts';
import type { DevicePlatform, NotificationPreferences, NotificationPriority, NotificationType, PushMessage } from '../domain/types.ts';
import type { PresenceStore } from '../realtime/presence.ts';
import { type JobSpec, PLATFORM_QUEUES, QUEUES, type QueueName } from '../storage/job-queue.ts';
import type { UnseenMessage, UnseenMessages } from '../storage/store.ts';
import type { ServiceDeps } from './deps.ts';

/** A push decision waiting in the `parley.push` queue. */
export type PushJob =
  | { kind: 'conversation'; userId: string; conversationId: string }
  | {
      kind: 'notification';
      userId: string;
      /** The inbox entry it announces: reading or deleting it first cancels the push. */
      notificationId: string | null;
      type: NotificationType;
      priority: NotificationPriority;
      title: string;
      body: string;
      data: Record<string, unknown>;
    };

/** One delivery to one device, in that platform's queue; or, with `receipt`, the later check of one (Expo). */
export interface DeviceJob {
  userId: string;
  deviceId: string;
  message?: PushMessage;
  receipt?: string;
}

export type PushDecision =
  | { outcome: 'sent'; devices: number }
  | { outcome: 'skipped'; reason: string }
  /** In quiet hours: rescheduled for when they end, or (null) left for the digest. */
  | { outcome: 'held'; until: string | null };

/** At most one conversation push per (user, conversation) waits at a time (see JobSpec.singletonKey). */
export const conversationPushKey = (userId: string, conversationId: string) => `conversation:${userId}:${conversationId}`;

const BODY_MAX = 180;
const TTL_SECONDS = 24 * 3600;

/** "Ana", "Ana and Bo", "Ana, Bo and 2 others". */
function names(list: string[]): string {
  const unique = [...new Set(list)];
  if (unique.length <= 2) return unique.join(' and ');
  return `${unique.slice(0, 2).join(', ')} and ${unique.length - 2} other${unique.length === 3 ? '' : 's'}`;
}

/** The push text for a conversation's unread messages: one message as it is, several as a count. */
export function composeConversationPush(u: Pick<UnseenMessages, 'kind' | 'title'>, messages: UnseenMessage[], total: number): { title: string; body: string; mention: boolean } {
  const nameOf = (m: UnseenMessage) => m.senderName ?? m.senderId;
  const last = messages.at(-1)!;
  const mention = messages.some((m) => m.mentioned);
  const where = u.kind === 'group' ? (u.title ?? 'your group') : null;
  if (mention) {
    const m = [...messages].reverse().find((x) => x.mentioned)!;
    return { title: where ? `${nameOf(m)} mentioned you in ${where}` : `${nameOf(m)} mentioned you`, body: clip(m.body, BODY_MAX), mention };
  }
  const title = where ?? nameOf(last);
  if (total === 1) return { title, body: clip(where ? `${nameOf(last)}: ${last.body}` : last.body, BODY_MAX), mention };
  return { title, body: `${total} new messages from ${names(messages.map(nameOf))}`, mention };
}

/**
 * Runs a push decision: is there still something to say (not read, not deleted, not
 * already pushed), may we say it now (preferences, quiet hours, still offline), and to
 * which devices. The fan-out to device jobs and the "pushed up to here" mark commit
 * together, so a retried decision never pushes the same messages twice.
 */
export function pushService(deps: ServiceDeps & { presence: PresenceStore }, opts: { pushWhen: 'offline' | 'always'; platforms: ReadonlySet<DevicePlatform> }) {
  const { store, now } = deps;

  async function hold(job: PushJob, jobId: string, prefs: NotificationPreferences, at: Date): Promise<PushDecision> {
    const until = holdEndsAt(prefs, at);
    if (until) {
      await store.jobs.enqueue([
        {
          queue: QUEUES.push,
          id: stableUuid(`${jobId}:held`),
          ...(job.kind === 'conversation' ? { singletonKey: conversationPushKey(job.userId, job.conversationId) } : {}),
          delayMs: until.getTime() - at.getTime(),
          data: job,
        },
      ]);
    }
    return { outcome: 'held', until: until?.toISOString() ?? null };
  }

  async function fanOut(jobId: string, userId: string, message: PushMessage, pushed: { conversationId: string; seq: number } | null): Promise<PushDecision> {
    const devices = (await store.devices.list(userId)).filter((d) => opts.platforms.has(d.platform));
    if (devices.length === 0) return { outcome: 'skipped', reason: 'no devices' };
    const badge = (await store.members.unreadSummary(userId, now())).total;
    const jobs: JobSpec[] = devices.map((d) => {
      const data: DeviceJob = { userId, deviceId: d.id, message: { ...message, badge } };
      return { queue: PLATFORM_QUEUES[d.platform], id: stableUuid(`${jobId}:${d.id}`), data: data };
    });
    const claimed = await store.transaction(async (tx) => {
      if (pushed && !(await tx.notifyWork.markPushed(pushed.conversationId, userId, pushed.seq))) return false;
      await tx.jobs.enqueue(jobs);
      return true;
    });
    if (!claimed) return { outcome: 'skipped', reason: 'pushed by another job' };
    const perQueue = new Map<QueueName, number>();
    for (const j of jobs) perQueue.set(j.queue, (perQueue.get(j.queue) ?? 0) + 1);
    for (const [q, n] of perQueue) store.jobs.wake(q, n);
    return { outcome: 'sent', devices: devices.length };
  }

  async function conversation(job: Extract<PushJob, { kind: 'conversation' }>, jobId: string): Promise<PushDecision> {
    const at = now();
    const u = await store.notifyWork.unseen(job.conversationId, job.userId, 5);
    if (!u) return { outcome: 'skipped', reason: 'not a member' };
    if (u.total === 0) return { outcome: 'skipped', reason: 'read or deleted' };
    const prefs = await preferencesOf(deps, job.userId);
    const quiet = u.archived || (u.mutedUntil !== null && Date.parse(u.mutedUntil) > at.getTime());
    let messages = u.messages;
    let total = u.total;
    if (quiet) {
      if (!prefs.mentionsInMuted || u.mentions === 0) return { outcome: 'skipped', reason: 'muted' };
      messages = messages.filter((m) => m.mentioned);
      total = u.mentions;
      if (messages.length === 0) return { outcome: 'skipped', reason: 'muted' };
    }
    const text = composeConversationPush(u, messages, total);
    const wanted = text.mention ? channelOn(prefs, 'mention', 'push') || channelOn(prefs, 'message', 'push') : channelOn(prefs, 'message', 'push');
    if (!wanted) return { outcome: 'skipped', reason: 'preferences' };
    if (opts.pushWhen === 'offline' && (await deps.presence.connected([job.userId])).has(job.userId)) return { outcome: 'skipped', reason: 'online' };
    const priority = text.mention ? 'high' : 'normal';
    if (isHeld(prefs, priority, at)) return hold(job, jobId, prefs, at);
    const newest = u.messages.at(-1)!.seq;
    const message: PushMessage = {
      title: text.title,
      body: text.body,
      data: { type: text.mention ? 'mention' : 'message', conversationId: job.conversationId, seq: newest },
      collapseKey: job.conversationId,
      priority: 'high',
      ttlSeconds: TTL_SECONDS,
    };
    return fanOut(jobId, job.userId, message, { conversationId: job.conversationId, seq: newest });
  }

  async function notification(job: Extract<PushJob, { kind: 'notification' }>, jobId: string): Promise<PushDecision> {
    const at = now();
    if (job.notificationId) {
      const n = await store.notifications.get(job.userId, job.notificationId, at);
      if (!n || n.readAt) return { outcome: 'skipped', reason: 'read or deleted' };
    }
    const prefs = await preferencesOf(deps, job.userId);
    if (job.priority !== 'urgent' && !channelOn(prefs, job.type, 'push')) return { outcome: 'skipped', reason: 'preferences' };
    if (opts.pushWhen === 'offline' && (await deps.presence.connected([job.userId])).has(job.userId)) return { outcome: 'skipped', reason: 'online' };
    if (isHeld(prefs, job.priority, at)) return hold(job, jobId, prefs, at);
    const message: PushMessage = {
      title: job.title,
      body: clip(job.body, BODY_MAX),
      data: { ...job.data, type: job.type, ...(job.notificationId ? { notificationId: job.notificationId } : {}) },
      priority: job.priority === 'high' || job.priority === 'urgent' ? 'high' : 'normal',
      ttlSeconds: TTL_SECONDS,
    };
    return fanOut(jobId, job.userId, message, null);
  }

  return {
    /** Decides and fans out the push job `jobId`. */
    run: (job: PushJob, jobId: string): Promise<PushDecision> => (job.kind === 'conversation' ? conversation(job, jobId) : notification(job, jobId)),

    /** The device and message of a device job; null when the device is gone (unregistered since). */
    async device(job: DeviceJob) {
      return store.devices.get(job.userId, job.deviceId);
    },

    /** Invariant 6: a token the provider says is dead is removed, never retried. */
    async prune(job: DeviceJob): Promise<void> {
      await store.devices.delete(job.userId, job.deviceId);
    },
  };
}

export type PushService = ReturnType<typeof pushService>;
