import type { ConversationEvent } from '../domain/types.ts';
import type { Bus, BusMessage, BusMeta } from './bus.ts';
import type { Connection, Hub } from './hub.ts';

export interface FanoutDeps {
  bus: Bus;
  hub: Hub;
  /** The conversation's members: may be a shared cached set, never to be changed. */
  membersOf(conversationId: string): Promise<ReadonlySet<string>>;
  /** The same when it is at hand now (cached and trusted), else undefined. */
  membersNow?(conversationId: string): ReadonlySet<string> | undefined;
  onError(err: unknown): void;
  /** Whether a connection wants `notification:new` of this type (it gets the count either way). */
  wantsNotification?(connectionId: string, type: string): boolean;
  /** How long an event may wait for an earlier seq still in flight before going out anyway. */
  reorderWindowMs?: number;
  /** An event came after the lane went past its seq, and was not delivered. */
  onLate?(): void;
}

/** A conversation's event as the bus brought it: the connection it came from, and when it was committed (its publish). */
interface Pending {
  event: ConversationEvent;
  origin: string | undefined;
  committedAt: number;
}

interface Lane {
  /** The next seq this instance expects for the conversation (null until the first event). */
  next: number | null;
  held: Map<number, Pending>;
  timer: NodeJS.Timeout | null;
  /** Deliveries of one conversation run one after another, in the order released. */
  chain: Promise<void>;
  /** Deliveries on the chain not yet done. */
  queued: number;
  touched: number;
}

const MAX_LANES = 50_000;
/** How long a lane's first event (seq > 1) waits for an earlier one still in flight. */
const FIRST_EVENT_WAIT_MS = 30;

/**
 * Hands bus messages to the local connections of their audience. Two sends of one
 * conversation commit in seq order but may publish in either order, so each conversation
 * has a lane that holds an event back (up to reorderWindowMs) until the seq before it
 * went out: clients see seqs strictly increasing, and a real gap ends in a sync. An event
 * that comes after the window let a later seq go is not sent at all (the gap's sync has it).
 */
export function startFanout(deps: FanoutDeps): () => void {
  const { hub, membersOf } = deps;
  const windowMs = deps.reorderWindowMs ?? 250;
  const lanes = new Map<string, Lane>();

  const lane = (id: string): Lane => {
    let l = lanes.get(id);
    if (!l) {
      if (lanes.size >= MAX_LANES) evictIdle();
      l = { next: null, held: new Map(), timer: null, chain: Promise.resolve(), queued: 0, touched: 0 };
      lanes.set(id, l);
    }
    l.touched = Date.now();
    return l;
  };

  function evictIdle() {
    const cutoff = Date.now() - 60_000;
    for (const [id, l] of lanes) if (l.touched < cutoff && l.held.size === 0) lanes.delete(id);
  }

  const enqueue = (conversationId: string, work: () => Promise<void>) => {
    const l = lane(conversationId);
    l.queued++;
    l.chain = l.chain
      .then(work)
      .catch(deps.onError)
      .then(() => void l.queued--);
  };

  /** The originating connection already has the change from its ack. */
  const emit = ({ event, origin, committedAt }: Pending, audience: Iterable<string>) =>
    hub.emitTo(audience, event.type, event.data, origin ? (c) => c.id === origin : undefined, committedAt);

  async function deliver(pending: Pending) {
    const { event } = pending;
    const members = await membersOf(event.conversationId);
    // A removed member hears of their own removal, then nothing more. The set is the shared
    // cached one: extended on a copy, and only then (a copy per event is O(members)).
    emit(pending, event.type === 'member:left' ? new Set(members).add(event.data.userId) : members);
  }

  function release(l: Lane, pending: Pending) {
    const { event } = pending;
    l.next = Math.max(l.next ?? 0, event.seq + 1);
    // At once when nothing of the conversation waits on the chain and its members are at
    // hand: most messages under load, which then skip the chain's promises and the wait for
    // the members. Membership events always take the chain: the cache forgets the
    // conversation on the same bus message, and whether it has yet depends on the order the
    // bus calls its subscribers in.
    const members = l.queued === 0 && !event.type.startsWith('member:') ? deps.membersNow?.(event.conversationId) : undefined;
    if (!members) return enqueue(event.conversationId, () => deliver(pending));
    try {
      emit(pending, members);
    } catch (err) {
      deps.onError(err);
    }
  }

  function flush(l: Lane) {
    l.timer = null;
    for (const seq of [...l.held.keys()].sort((a, b) => a - b)) {
      release(l, l.held.get(seq)!);
      l.held.delete(seq);
    }
  }

  function onConversationEvent(pending: Pending) {
    const { event } = pending;
    const l = lane(event.conversationId);
    // Later than the window: the lane already went past it, so every connection here saw a
    // later seq, took the gap for one and synced it. Sent now it would be a seq going
    // backwards, which the protocol promises never happens.
    if (l.next !== null && event.seq < l.next) {
      deps.onLate?.();
      // Except for a member's own removal: later seqs never reached them, so it is no step back.
      if (event.type === 'member:left') {
        const removed = event.data.userId;
        enqueue(event.conversationId, async () => emit(pending, [removed]));
      }
      return;
    }
    // A lane that has seen nothing yet cannot tell whether an earlier seq is still on its
    // way (two sends finishing together): unless it is seq 1, it waits a moment first.
    const releasable = l.next === null ? event.seq === 1 : event.seq <= l.next;
    if (releasable) {
      release(l, pending);
      while (l.held.has(l.next!)) {
        const p = l.held.get(l.next!)!;
        l.held.delete(p.event.seq);
        release(l, p);
      }
      if (l.held.size === 0 && l.timer) {
        clearTimeout(l.timer);
        l.timer = null;
      }
      return;
    }
    l.held.set(event.seq, pending);
    l.timer ??= setTimeout(() => flush(l), l.next === null ? FIRST_EVENT_WAIT_MS : windowMs);
  }

  function onMessage(m: BusMessage, meta: BusMeta) {
    switch (m.kind) {
      case 'conversation':
        return onConversationEvent({ event: m.event, origin: m.origin, committedAt: meta.publishedAt });
      case 'read-state': {
        const { change } = m;
        hub.emitTo([change.userId], 'unread:update', {
          conversationId: change.conversationId,
          unreadCount: change.unreadCount,
          totalUnread: change.totalUnread,
          readSeq: change.readSeq,
          lastSeq: change.lastSeq,
        });
        const receipt = { conversationId: change.conversationId, userId: change.userId, readSeq: change.readSeq, deliveredSeq: change.deliveredSeq };
        return enqueue(change.conversationId, async () => {
          const members = await membersOf(change.conversationId);
          hub.emitTo(members, 'receipt:updated', receipt, (c) => c.userId === change.userId);
        });
      }
      case 'typing':
        return enqueue(m.update.conversationId, async () => {
          hub.emitTo(await membersOf(m.update.conversationId), 'typing:update', m.update, (c) => c.userId === m.update.userId);
        });
      case 'lock':
        return enqueue(m.update.conversationId, async () => {
          hub.emitTo(await membersOf(m.update.conversationId), 'message:locked', m.update, (c) => c.userId === m.update.userId);
        });
      case 'presence':
        return hub.emitTo(new Set(m.audience), 'presence:update', m.presence);
      case 'notification': {
        const n = m.notification;
        if (!n) return hub.emitTo([m.userId], 'notification:updated', { unreadCount: m.unreadCount });
        const wants = (c: Connection) => deps.wantsNotification?.(c.id, n.type) ?? true;
        hub.emitTo([m.userId], 'notification:new', { notification: n, unreadCount: m.unreadCount }, (c) => !wants(c));
        return hub.emitTo([m.userId], 'notification:updated', { unreadCount: m.unreadCount }, wants);
      }
    }
  }

  const unsubscribe = deps.bus.subscribe(onMessage);
  return () => {
    unsubscribe();
    for (const l of lanes.values()) if (l.timer) clearTimeout(l.timer);
    lanes.clear();
  };
}
