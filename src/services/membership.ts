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
  /**
   * Loads in flight, by conversation, shared by whoever asks meanwhile. An invalidation marks
   * the one in flight stale (it is not kept) and detaches it, so a caller after the
   * invalidation starts a fresh load. Only loads in flight are held: nothing here grows with
   * the number of conversations ever invalidated.
   */
  const loading = new Map<string, { stale: boolean; members: Promise<Set<string>> }>();

  const detach = (conversationId: string) => {
    const pending = loading.get(conversationId);
    if (!pending) return;
    pending.stale = true;
    loading.delete(conversationId);
  };
  const unsubscribe = bus.subscribe((m) => {
    if (m.kind === 'conversation' && m.event.type.startsWith('member:')) {
      cache.delete(m.event.conversationId);
      detach(m.event.conversationId);
    }
    // Membership events from other instances may have been missed: forget everything.
    if (m.kind === 'resync') {
      cache.clear();
      for (const id of [...loading.keys()]) detach(id);
    }
  });

  const fromStore = async (conversationId: string) => new Set((await store.members.list(conversationId)).map((m) => m.userId));

  function load(conversationId: string): Promise<Set<string>> {
    const inFlight = loading.get(conversationId);
    if (inFlight) return inFlight.members;
    const pending = { stale: false, members: fromStore(conversationId) };
    loading.set(conversationId, pending);
    const settle = () => {
      if (loading.get(conversationId) === pending) loading.delete(conversationId);
    };
    pending.members.then((loaded) => {
      settle();
      if (pending.stale) return;
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(conversationId, loaded);
    }, settle);
    return pending.members;
  }

  async function members(conversationId: string): Promise<ReadonlySet<string>> {
    // While the bus may be missing other instances' membership events, only the database is
    // trusted: a member removed elsewhere must not keep receiving through a stale entry.
    if (!bus.health().ok) {
      cache.clear();
      return fromStore(conversationId);
    }
    return cache.get(conversationId) ?? load(conversationId);
  }

  return {
    members,
    /** members() when it needs no load: the cached entry, while the bus can be trusted. */
    membersNow: (conversationId: string): ReadonlySet<string> | undefined => (bus.health().ok ? cache.get(conversationId) : undefined),
    /** The cached entry, if any, without loading (callers inside a transaction load through it). */
    cached: (conversationId: string): ReadonlySet<string> | undefined => cache.get(conversationId),
    isMember: async (conversationId: string, userId: string) => (await members(conversationId)).has(userId),
    close: unsubscribe,
  };
}

export type MembershipCache = ReturnType<typeof membershipCache>;
