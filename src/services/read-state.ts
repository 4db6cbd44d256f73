import type { Actor, ReadStateChange, UnreadCounts } from '../domain/types.ts';
import { notFound } from '../errors.ts';
import type { ServiceDeps } from './deps.ts';

/**
 * Read and delivered markers and the unread counts derived from them (invariant 5):
 * unread = messages from others, not deleted, after the member's read marker. Markers
 * never move backwards and never past the conversation's last seq. They take no seq.
 */
export function readStateService(deps: ServiceDeps) {
  const { store, bus, now } = deps;

  async function advance(actor: Actor, conversationId: string, seq: number | undefined, which: 'read' | 'delivered'): Promise<ReadStateChange> {
    const markers = await store.members.advanceMarkers(conversationId, actor.userId, seq ?? Number.MAX_SAFE_INTEGER, which);
    if (!markers) throw notFound('Conversation not found');
    const summary = await store.members.unreadSummary(actor.userId, now());
    const change: ReadStateChange = {
      conversationId,
      userId: actor.userId,
      ...markers,
      unreadCount: summary.conversations[conversationId] ?? 0,
      totalUnread: summary.total,
      lastSeq: summary.lastSeqs[conversationId] ?? markers.readSeq,
    };
    await bus.publish({ kind: 'read-state', change });
    return change;
  }

  return {
    /** Marks everything up to `seq` (default: the latest) read. */
    markRead: (actor: Actor, conversationId: string, seq?: number) => advance(actor, conversationId, seq, 'read'),
    /** Marks everything up to `seq` (default: the latest) delivered to one of the user's devices. */
    markDelivered: (actor: Actor, conversationId: string, seq?: number) => advance(actor, conversationId, seq, 'delivered'),
    /** Unread per conversation, the total over conversations that are not muted, and the seq each count holds as of. */
    async unread(actor: Actor): Promise<UnreadCounts> {
      const summary = await store.members.unreadSummary(actor.userId, now());
      return { totalUnread: summary.total, conversations: summary.conversations, lastSeqs: summary.lastSeqs };
    },
  };
}

export type ReadStateService = ReturnType<typeof readStateService>;
