import { randomUUID } from 'node:crypto';
import type { NotificationListQuery, NotificationPreferencesBody, SendNotification } from '../../protocol/schemas.ts';
import { channelOn, isTimeZone, withDefaults } from '../domain/notifications.ts';
import type { Actor, Notification, NotificationPreferences } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';
import { checkMetadata } from './metadata.ts';
import { stableUuid } from '../domain/ids.ts';
import { QUEUES } from '../storage/job-queue.ts';
import type { PushJob } from './push.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';

/** Read notifications stay in the inbox this long. */
const KEEP_READ_MS = 7 * 24 * 3600 * 1000;
const PAGE_DEFAULT = 30;

/**
 * The in-app inbox and notification preferences. Every change to a user's inbox reaches
 * all of their connections (`notification:new`, `notification:updated`) with the unread count.
 */
/** A user's preferences, defaults filled in. */
export async function preferencesOf(deps: Pick<ServiceDeps, 'store'>, userId: string): Promise<NotificationPreferences> {
  return (await preferencesOfAll(deps, [userId]))(userId);
}

/** Several users' preferences in one read: a lookup, defaults filled in. */
export async function preferencesOfAll(deps: Pick<ServiceDeps, 'store'>, userIds: string[]): Promise<(userId: string) => NotificationPreferences> {
  const stored = userIds.length === 0 ? new Map<string, NotificationPreferences>() : await deps.store.notifications.preferences([...new Set(userIds)]);
  return (userId) => withDefaults(stored.get(userId));
}

/** Tells all of the user's connections, and answers the unread count it told them. */
export async function announceTo(deps: ServiceDeps, userId: string, notification: Notification | null): Promise<number> {
  const unreadCount = await deps.store.notifications.unreadCount(userId, deps.now());
  await deps.bus.publish({ kind: 'notification', userId, notification, unreadCount });
  return unreadCount;
}

export function notificationService(deps: ServiceDeps) {
  const { store, now } = deps;
  const announce = (userId: string, notification: Notification | null) => announceTo(deps, userId, notification);

  return {
    async list(actor: Actor, q: NotificationListQuery): Promise<{ notifications: Notification[]; nextCursor: string | null }> {
      const limit = q.limit ?? PAGE_DEFAULT;
      const notifications = await store.notifications.list(
        actor.userId,
        { limit, before: q.cursor ? decodeCursor(q.cursor) : null, ...(q.unread !== undefined ? { unread: q.unread } : {}), ...(q.type ? { type: q.type } : {}) },
        now(),
      );
      const last = notifications.length === limit ? notifications[limit - 1] : undefined;
      return { notifications, nextCursor: last ? encodeCursor(last.createdAt, last.id) : null };
    },

    unreadCount: async (actor: Actor) => ({ unreadCount: await store.notifications.unreadCount(actor.userId, now()) }),

    async markRead(actor: Actor, id: string): Promise<{ notification: Notification; unreadCount: number }> {
      const notification = await store.notifications.markRead(actor.userId, id, now(), KEEP_READ_MS);
      if (!notification) throw notFound('Notification not found');
      return { notification, unreadCount: await announce(actor.userId, null) };
    },

    async markAllRead(actor: Actor): Promise<{ updated: number; unreadCount: number }> {
      const updated = await store.notifications.markAllRead(actor.userId, now(), KEEP_READ_MS);
      const unreadCount = updated ? await announce(actor.userId, null) : await store.notifications.unreadCount(actor.userId, now());
      return { updated, unreadCount };
    },

    async delete(actor: Actor, id: string): Promise<void> {
      if (!(await store.notifications.delete(actor.userId, id))) throw notFound('Notification not found');
      await announce(actor.userId, null);
    },

    async deleteAll(actor: Actor): Promise<{ deleted: number }> {
      const deleted = await store.notifications.deleteAll(actor.userId);
      if (deleted) await announce(actor.userId, null);
      return { deleted };
    },

    /**
     * Admin send to one or many users. A repeated idempotency key creates nothing new and
     * answers what the first call created. Users who switched the type's in-app channel off
     * get no inbox entry, unless it is urgent. Push jobs are enqueued in the same
     * transaction; whether to push is decided when they run (offline, preferences, quiet
     * hours), and a read entry is not pushed.
     */
    async send(input: SendNotification): Promise<{ notifications: Notification[]; created: number }> {
      checkMetadata(input.data);
      const at = now();
      const priority = input.priority ?? 'normal';
      const key = input.idempotencyKey ?? null;
      await store.users.ensure(input.userIds, at);
      const stored = await store.notifications.preferences(input.userIds);
      const wants = (u: string, channel: 'inApp' | 'push') => priority === 'urgent' || channelOn(withDefaults(stored.get(u)), input.type, channel);
      const rows = input.userIds.filter((u) => wants(u, 'inApp')).map((userId) => ({
        id: randomUUID(),
        userId,
        type: input.type,
        priority,
        title: input.title,
        body: input.body,
        data: input.data ?? {},
        actionUrl: input.actionUrl ?? null,
        createdAt: at.toISOString(),
      }));
      const { created, queued } = await store.transaction(async (tx) => {
        const created = await tx.notifications.insertMany(rows, key);
        const entryOf = new Map(created.map((n) => [n.userId, n.id]));
        const jobs = input.userIds
          // With a key, an entry made by the first call means its push was queued then too.
          .filter((u) => wants(u, 'push') && (!key || entryOf.has(u) || !wants(u, 'inApp')))
          .map((userId) => {
            const job: PushJob = { kind: 'notification', userId, notificationId: entryOf.get(userId) ?? null, type: input.type, priority, title: input.title, body: input.body, data: input.data ?? {} };
            // With a key, a retried send makes the same job id, which the queue drops.
            return { queue: QUEUES.push, ...(key ? { id: stableUuid(`notify:${key}:${userId}`) } : {}), data: job };
          });
        await tx.jobs.enqueue(jobs);
        return { created, queued: jobs.length };
      });
      for (const n of created) await announce(n.userId, n);
      if (queued) store.jobs.wake(QUEUES.push, queued);
      const notifications = key ? await store.notifications.byIdempotencyKey(input.userIds, key) : created;
      return { notifications, created: created.length };
    },

    getPreferences: (actor: Actor) => preferencesOf(deps, actor.userId),

    /** Replaces the preferences; parts left out take their defaults. */
    async putPreferences(actor: Actor, body: NotificationPreferencesBody): Promise<NotificationPreferences> {
      if (body.quietHours && !isTimeZone(body.quietHours.timeZone)) {
        throw new AppError('validation_failed', `quietHours.timeZone: unknown time zone ${body.quietHours.timeZone}`);
      }
      const prefs = withDefaults(body as Partial<NotificationPreferences>);
      await store.notifications.putPreferences(actor.userId, prefs, now());
      return prefs;
    },
  };
}

export type NotificationService = ReturnType<typeof notificationService>;
