import type { Bus } from '../realtime/bus.ts';
import type { Store } from '../storage/store.ts';

const MAX_CACHED = 20_000;

/**
 * Who is in a conversation, cached for the realtime paths (fan-out, typing) that ask on
 * every event. Membership events on the bus invalidate an entry; a load that raced with an
 * invalidation is not kept, so a removal takes effect for every event published after it.
 */
export function membershipCache(store: Store, bus: Bus) {
  const cache = new Map<string, Set<string>>();
  const versions = new Map<string, number>();
  /** Moves on a resync: a load begun before it is not kept either. */
  let epoch = 0;

  const invalidate = (conversationId: string) => {
    cache.delete(conversationId);
    versions.set(conversationId, (versions.get(conversationId) ?? 0) + 1);
  };
  const unsubscribe = bus.subscribe((m) => {
    if (m.kind === 'conversation' && m.event.type.startsWith('member:')) invalidate(m.event.conversationId);
    // Membership events from other instances may have been missed: forget everything.
    if (m.kind === 'resync') {
      cache.clear();
      epoch++;
    }
  });

  async function members(conversationId: string): Promise<Set<string>> {
    // While the bus may be missing other instances' membership events, only the database is
    // trusted: a member removed elsewhere must not keep receiving through a stale entry.
    if (!bus.health().ok) {
      cache.clear();
      return new Set((await store.members.list(conversationId)).map((m) => m.userId));
    }
    const hit = cache.get(conversationId);
    if (hit) return hit;
    const version = versions.get(conversationId) ?? 0;
    const startedIn = epoch;
    const loaded = new Set((await store.members.list(conversationId)).map((m) => m.userId));
    if ((versions.get(conversationId) ?? 0) === version && epoch === startedIn) {
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(conversationId, loaded);
    }
    return loaded;
  }

  return {
    members,
    /** The cached entry, if any, without loading (callers inside a transaction load through it). */
    cached: (conversationId: string): ReadonlySet<string> | undefined => cache.get(conversationId),
    isMember: async (conversationId: string, userId: string) => (await members(conversationId)).has(userId),
    close: unsubscribe,
  };
}

export type MembershipCache = ReturnType<typeof membershipCache>;
