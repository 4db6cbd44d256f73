import { stableUuid } from '../domain/ids.ts';
import { channelOn, holdEndsAt, isHeld } from '../domain/notifications.ts';
import { clip } from '../domain/text.ts';
import type { DevicePlatform, NotificationPreferences, NotificationPriority, NotificationType, PushMessage } from '../domain/types.ts';
import type { ConnectedUsers } from '../realtime/presence-here.ts';
import { type JobSpec, PLATFORM_QUEUES, QUEUES, type QueueName } from '../storage/job-queue.ts';
import type { UnseenMessage, UnseenMessages } from '../storage/store.ts';
import type { ServiceDeps } from './deps.ts';
import { gathered } from './gathered.ts';
import { preferencesOfAll } from './notifications.ts';

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

type NotificationJob = Extract<PushJob, { kind: 'notification' }>;

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
 * What a push decision would send, before presence and quiet hours are asked: the message,
 * its priority (which quiet hours may hold), and for a conversation the newest seq it covers.
 */
interface Composed {
  priority: NotificationPriority;
  message: PushMessage;
  pushed: { conversationId: string; seq: number } | null;
}

/** A member's conversation push from their unseen messages (null: not a member) and preferences, or why there is none. */
export function conversationPush(conversationId: string, u: UnseenMessages | null, prefs: NotificationPreferences, at: Date): Composed | { skipped: string } {
  if (!u) return { skipped: 'not a member' };
  if (u.total === 0) return { skipped: 'read or deleted' };
  const quiet = u.archived || (u.mutedUntil !== null && Date.parse(u.mutedUntil) > at.getTime());
  let messages = u.messages;
  let total = u.total;
  if (quiet) {
    if (!prefs.mentionsInMuted || u.mentions === 0) return { skipped: 'muted' };
    messages = messages.filter((m) => m.mentioned);
    total = u.mentions;
    if (messages.length === 0) return { skipped: 'muted' };
  }
  const text = composeConversationPush(u, messages, total);
  const wanted = text.mention ? channelOn(prefs, 'mention', 'push') || channelOn(prefs, 'message', 'push') : channelOn(prefs, 'message', 'push');
  if (!wanted) return { skipped: 'preferences' };
  const seq = u.messages.at(-1)!.seq;
  const message: PushMessage = {
    title: text.title,
    body: text.body,
    data: { type: text.mention ? 'mention' : 'message', conversationId, seq },
    collapseKey: conversationId,
    priority: 'high',
    ttlSeconds: TTL_SECONDS,
  };
  return { priority: text.mention ? 'high' : 'normal', message, pushed: { conversationId, seq } };
}

/** An inbox notification's push (`unread`: its entry, if it has one, is still there unread), or why there is none. */
export function notificationPush(job: NotificationJob, unread: boolean, prefs: NotificationPreferences): Composed | { skipped: string } {
  if (!unread) return { skipped: 'read or deleted' };
  if (job.priority !== 'urgent' && !channelOn(prefs, job.type, 'push')) return { skipped: 'preferences' };
  const message: PushMessage = {
    title: job.title,
    body: clip(job.body, BODY_MAX),
    data: { ...job.data, type: job.type, ...(job.notificationId ? { notificationId: job.notificationId } : {}) },
    priority: job.priority === 'high' || job.priority === 'urgent' ? 'high' : 'normal',
    ttlSeconds: TTL_SECONDS,
  };
  return { priority: job.priority, message, pushed: null };
}

/** A decision that found something to push: its device jobs, and the messages it claims. */
interface Outgoing {
  jobId: string;
  userId: string;
  message: PushMessage;
  pushed: { conversationId: string; seq: number } | null;
}

/**
 * Runs push decisions: is there still something to say (not read, not deleted, not
 * already pushed), may we say it now (preferences, quiet hours, still offline), and to
 * which devices. The fan-out to device jobs and the "pushed up to here" marks commit
 * together, so a retried decision never pushes the same messages twice.
 *
 * A batch is decided together, a statement per step for all of it: a message to a large
 * group's offline members is a decision for each of them at once, and one at a time each
 * cost about ten round trips.
 */
export function pushService(deps: ServiceDeps & { presence: ConnectedUsers }, opts: { pushWhen: 'offline' | 'always'; platforms: ReadonlySet<DevicePlatform> }) {
  const { store, now } = deps;
  const deviceOf = gathered((refs: { userId: string; id: string }[]) => store.devices.getMany(refs));

  /** Rescheduled for when quiet hours end, or (no end: do not disturb) left for the digest. */
  function hold(job: PushJob, jobId: string, prefs: NotificationPreferences, at: Date, holds: JobSpec[]): PushDecision {
    const until = holdEndsAt(prefs, at);
    if (until) {
      holds.push({
        queue: QUEUES.push,
        id: stableUuid(`${jobId}:held`),
        ...(job.kind === 'conversation' ? { singletonKey: conversationPushKey(job.userId, job.conversationId) } : {}),
        delayMs: until.getTime() - at.getTime(),
        data: job,
      });
    }
    return { outcome: 'held', until: until?.toISOString() ?? null };
  }

  async function online(userIds: string[]): Promise<ReadonlySet<string>> {
    if (opts.pushWhen === 'always' || userIds.length === 0) return new Set();
    return deps.presence.connected([...new Set(userIds)]);
  }

  /** Each user's devices on a configured platform, their badge, and the device jobs with the claims, in one transaction. */
  async function fanOut(list: Outgoing[]): Promise<PushDecision[]> {
    if (list.length === 0) return [];
    const owned = await store.devices.listOf([...new Set(list.map((o) => o.userId))]);
    const devicesOf = (userId: string) => (owned.get(userId) ?? []).filter((d) => opts.platforms.has(d.platform));
    const sending = list.filter((o) => devicesOf(o.userId).length > 0);
    const badges = sending.length > 0 ? await store.members.unreadTotals([...new Set(sending.map((o) => o.userId))], now()) : new Map<string, number>();
    const jobsOf = (o: Outgoing): JobSpec[] =>
      devicesOf(o.userId).map((d) => {
        const data: DeviceJob = { userId: o.userId, deviceId: d.id, message: { ...o.message, badge: badges.get(o.userId) ?? 0 } };
        return { queue: PLATFORM_QUEUES[d.platform], id: stableUuid(`${o.jobId}:${d.id}`), data };
      });
    const taken = new Set<Outgoing>();
    const jobs = sending.length === 0 ? [] : await store.transaction(async (tx) => {
      const claiming = sending.filter((o) => o.pushed);
      const claimed = await tx.notifyWork.markPushed(claiming.map((o) => ({ userId: o.userId, ...o.pushed! })));
      for (const o of sending) if (!o.pushed || claimed[claiming.indexOf(o)]) taken.add(o);
      const specs = [...taken].flatMap(jobsOf);
      await tx.jobs.enqueue(specs);
      return specs;
    });
    const perQueue = new Map<QueueName, number>();
    for (const j of jobs) perQueue.set(j.queue, (perQueue.get(j.queue) ?? 0) + 1);
    for (const [q, n] of perQueue) store.jobs.wake(q, n);
    return list.map((o): PushDecision => {
      const n = devicesOf(o.userId).length;
      if (n === 0) return { outcome: 'skipped', reason: 'no devices' };
      return taken.has(o) ? { outcome: 'sent', devices: n } : { outcome: 'skipped', reason: 'pushed by another job' };
    });
  }

  return {
    /** Decides and fans out push jobs (each with its job id), together; a decision for each, in order. */
    async decide(list: { job: PushJob; jobId: string }[]): Promise<PushDecision[]> {
      const at = now();
      const decisions: PushDecision[] = list.map(() => ({ outcome: 'skipped', reason: 'pushed by another job' }));
      // The same member's conversation twice in one batch (a held push and a new one): the first decides for both.
      const keys = new Set<string>();
      const picked = list.flatMap(({ job, jobId }, i) => {
        const key = job.kind === 'conversation' ? conversationPushKey(job.userId, job.conversationId) : null;
        if (key && keys.has(key)) return [];
        if (key) keys.add(key);
        return [{ job, jobId, i }];
      });
      const chats = picked.flatMap((x) => (x.job.kind === 'conversation' ? [x.job] : []));
      const notes = picked.flatMap((x) => (x.job.kind === 'notification' && x.job.notificationId ? [{ userId: x.job.userId, id: x.job.notificationId }] : []));
      const unseen = await store.notifyWork.unseenMany(chats, 5);
      const unread = await store.notifications.unreadAmong(notes, at);
      const unseenOf = new Map(chats.map((job, k) => [job, unseen[k] ?? null]));
      const unreadOf = new Map(notes.map((ref, k) => [ref.id, unread[k] ?? false]));
      // Preferences only for those with something left to say.
      const saying = picked.filter(({ job }) =>
        job.kind === 'conversation' ? (unseenOf.get(job)?.total ?? 0) > 0 : !job.notificationId || unreadOf.get(job.notificationId),
      );
      const prefsOf = await preferencesOfAll(deps, saying.map((x) => x.job.userId));

      const composed: (Composed & { i: number; job: PushJob; jobId: string; prefs: NotificationPreferences })[] = [];
      for (const { job, jobId, i } of picked) {
        const prefs = prefsOf(job.userId);
        const push =
          job.kind === 'conversation'
            ? conversationPush(job.conversationId, unseenOf.get(job) ?? null, prefs, at)
            : notificationPush(job, !job.notificationId || Boolean(unreadOf.get(job.notificationId)), prefs);
        if ('skipped' in push) decisions[i] = { outcome: 'skipped', reason: push.skipped };
        else composed.push({ ...push, i, job, jobId, prefs });
      }
      const connected = await online(composed.map((c) => c.job.userId));
      const holds: JobSpec[] = [];
      const outgoing: (Outgoing & { i: number })[] = [];
      for (const c of composed) {
        if (connected.has(c.job.userId)) decisions[c.i] = { outcome: 'skipped', reason: 'online' };
        else if (isHeld(c.prefs, c.priority, at)) decisions[c.i] = hold(c.job, c.jobId, c.prefs, at, holds);
        else outgoing.push({ i: c.i, jobId: c.jobId, userId: c.job.userId, message: c.message, pushed: c.pushed });
      }
      for (const [k, d] of (await fanOut(outgoing)).entries()) decisions[outgoing[k]!.i] = d;
      await store.jobs.enqueue(holds);
      return decisions;
    },

    /**
     * The device of a device job; null when it is gone (unregistered since). Lookups made
     * together (a batch of device jobs, started side by side) are one query.
     */
    device: (job: DeviceJob) => deviceOf({ userId: job.userId, id: job.deviceId }),

    /** Invariant 6: a token the provider says is dead is removed, never retried. */
    async prune(job: DeviceJob): Promise<void> {
      await store.devices.delete(job.userId, job.deviceId);
    },
  };
}

export type PushService = ReturnType<typeof pushService>;
