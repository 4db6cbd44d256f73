import { Unreachable } from '../unavailable.ts';
import type { PresenceStore } from './presence.ts';

/** What the notification pipeline asks of presence: who reads live, so who needs a push or an email. */
export type ConnectedUsers = Pick<PresenceStore, 'connected' | 'allConnected'>;

/** At most one warning this often while the fallback is in use. */
const WARN_EVERY_MS = 10_000;

/**
 * Who is connected, for the notification dispatcher, the push jobs and the digest: the
 * presence store's answer, or, while it cannot give one (Redis unreachable: `Unreachable`
 * from redis-guard.ts), this instance's own connections.
 *
 * Without it every drain failed while Redis was away and the outbox sweep retried it until
 * Redis came back: no push, no inbox entry, no digest for however long the outage lasted,
 * with PostgreSQL up and the messages committed. Counting only this instance's connections
 * is what "reading live" means then: the bus runs through Redis too, so a member connected
 * to another instance gets no live event until it returns (its client syncs then), and a
 * push is how they hear of the message. On one instance with Redis the answer is exact.
 */
export function connectedOrHere(presence: ConnectedUsers, here: (userId: string) => boolean, warn: (err: Unreachable) => void): ConnectedUsers {
  let warnedAt = Number.NEGATIVE_INFINITY;
  const fallBack = (err: unknown) => {
    if (!(err instanceof Unreachable)) throw err;
    const now = Date.now();
    if (now - warnedAt >= WARN_EVERY_MS) {
      warnedAt = now;
      warn(err);
    }
  };
  return {
    async connected(userIds) {
      try {
        return await presence.connected(userIds);
      } catch (err) {
        fallBack(err);
        return new Set(userIds.filter(here));
      }
    },
    async allConnected(userIds) {
      // Read twice when Redis fails: an iterator would be spent by the first read.
      const ids = Array.isArray(userIds) ? (userIds as string[]) : [...userIds];
      try {
        return await presence.allConnected(ids);
      } catch (err) {
        fallBack(err);
        return ids.every(here);
      }
    },
  };
}
