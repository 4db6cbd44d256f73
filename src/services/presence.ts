import type { SetPresence } from '../../protocol/events.ts';
import type { Actor, Presence } from '../domain/types.ts';
import { parseInstant } from '../domain/instant.ts';
import { AppError } from '../errors.ts';
import type { PresenceRecord, PresenceStore } from '../realtime/presence.ts';
import type { ServiceDeps } from './deps.ts';
import type { MembershipCache } from './membership.ts';

function toPresence(r: PresenceRecord, now: number): Presence {
  const online = Object.keys(r.connections).length > 0;
  const expired = r.customStatus?.expiresAt !== undefined && Date.parse(r.customStatus.expiresAt) <= now;
  return {
    userId: r.userId,
    status: online ? r.chosen : 'offline',
    customStatus: expired ? null : r.customStatus,
    lastSeenAt: online ? null : r.lastSeenAt,
  };
}

/**
 * Presence: online while any device is connected, a chosen status (away, busy, dnd), a
 * custom status that clears itself, last seen. Changes reach only the user's own devices
 * and the users who share a conversation with them (one small enough: see audienceOf); any
 * co-member may ask.
 */
export function presenceService(deps: ServiceDeps & { presence: PresenceStore; membership: MembershipCache }, opts: { groupLimit: number }) {
  const { store, bus, presence, membership } = deps;
  const now = () => deps.now().getTime();

  /**
   * Who is told of a user's presence: the user and the members of their conversations of at
   * most `groupLimit` members. Telling every member of a 10,000-member group would make each
   * connect cost 10,000 deliveries, and everyone connecting 10^8; there, clients ask.
   */
  async function audienceOf(userId: string): Promise<string[]> {
    const audience = new Set([userId]);
    for (const { conversationId } of await store.members.positionsOf(userId)) {
      const members = await membership.members(conversationId);
      if (members.size <= opts.groupLimit) for (const m of members) audience.add(m);
    }
    return [...audience];
  }

  async function publish(userId: string) {
    const [record] = await presence.get([userId]);
    await bus.publish({ kind: 'presence', presence: toPresence(record!, now()), audience: await audienceOf(userId) });
  }

  return {
    async connected(actor: Actor, connectionId: string) {
      if (await presence.connect(actor.userId, connectionId, now())) await publish(actor.userId);
    },
    async disconnected(actor: Actor, connectionId: string) {
      if (await presence.disconnect(actor.userId, connectionId, now())) await publish(actor.userId);
    },
    /** A connection that was dropped meanwhile (swept while stalled, Redis restarted empty) comes back. */
    async heartbeat(actor: Actor, connectionId: string): Promise<void> {
      if (await presence.heartbeat(actor.userId, connectionId, now())) await publish(actor.userId);
    },

    /** Sets the chosen status and/or the custom status (null clears it). */
    async set(actor: Actor, patch: SetPresence): Promise<Presence> {
      const expiresAt = patch.customStatus?.expiresAt;
      if (expiresAt && !((parseInstant(expiresAt) ?? Number.NEGATIVE_INFINITY) > now())) throw new AppError('validation_failed', 'customStatus.expiresAt must be in the future');
      await presence.setStatus(actor.userId, {
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.customStatus !== undefined ? { customStatus: patch.customStatus } : {}),
      });
      await publish(actor.userId);
      const [record] = await presence.get([actor.userId]);
      return toPresence(record!, now());
    },

    /** Presence of the caller and of users sharing a conversation with them; others are left out. */
    async query(actor: Actor, userIds: string[]): Promise<Presence[]> {
      const visible = new Set(await store.members.contactsOf(actor.userId, userIds));
      if (userIds.includes(actor.userId)) visible.add(actor.userId);
      const records = await presence.get(userIds.filter((u) => visible.has(u)));
      return records.map((r) => toPresence(r, now()));
    },

    /** Drops connections silent past `staleMs` and clears expired custom statuses, telling the audience. */
    async sweep(staleMs: number): Promise<void> {
      const t = now();
      const changed = new Set([...(await presence.sweep(t - staleMs, t)), ...(await presence.expireCustomStatuses(t))]);
      for (const userId of changed) await publish(userId);
    },
  };
}

export type PresenceService = ReturnType<typeof presenceService>;
