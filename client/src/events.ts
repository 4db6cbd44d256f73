import type { ServerEventName, ServerEvents } from '../../protocol/event-map.ts';
import type { Message } from '../../protocol/types.ts';
import { GUARDS } from './guards.ts';
import { applyToConversation, isMuted } from './state/conversations.ts';
import { withNotification } from './state/live.ts';
import { setReactions, upsertMessages } from './state/messages.ts';
import type { ClientStores } from './state/stores.ts';
import { withKey } from './store.ts';
import type { LogEvent } from './sync.ts';

interface EventDeps {
  stores: ClientStores;
  me(): string | null;
  /** Log events go through the sync engine, which applies them in seq order (or syncs on a gap). */
  receive(ev: LogEvent): void;
  /** The server's live stream had a gap: catch up. */
  resync(): void;
  /** A conversation this client does not hold yet: fetch it. */
  unknown(conversationId: string): void;
  /** The signed-in user left it (or it is gone): drop it. */
  remove(conversationId: string): void;
  /** A message of ours seen on the stream (sent from here, another tab or another device). */
  ownMessage(m: Message): void;
  onError(err: unknown): void;
}

/**
 * What each server event does to the stores. Events are checked against the protocol's
 * guards first: an unknown name or a malformed payload is counted and ignored, never thrown
 * into the app. `on` listeners see every valid event after the stores changed.
 */
export function createEventHandlers(deps: EventDeps) {
  const { stores, me } = deps;
  const { conversations, receipts } = stores;
  const listeners = new Map<string, Set<(data: never) => void>>();

  /** One log event, in seq order (the sync engine decides which and when). */
  function apply(ev: LogEvent) {
    const id = ev.conversationId;
    const c = conversations.get().byId[id];
    if (c) {
      const next = applyToConversation(c, ev, me());
      if (next === null) return deps.remove(id);
      if (next !== c) {
        // A count the server read past this event holds it already.
        const delta = stores.liveUnread(c, ev.seq, next.unreadCount - c.unreadCount);
        next.unreadCount = c.unreadCount + delta;
        conversations.set((s) => ({ ...s, byId: withKey(s.byId, id, next), totalUnread: Math.max(0, s.totalUnread + (isMuted(c) ? 0 : delta)) }));
      }
    } else if (!(ev.type === 'member:left' && ev.data.userId === me())) {
      deps.unknown(id);
    }
    const live = stores.liveMessages(id);
    switch (ev.type) {
      case 'message:new':
        if (ev.data.message.senderId === me()) deps.ownMessage(ev.data.message);
        stores.setTyping(id, ev.data.message.senderId, false);
        live?.set((s) => ({ ...s, messages: upsertMessages(s.messages, [ev.data.message]) }));
        break;
      case 'message:updated':
      case 'message:deleted':
        live?.set((s) => ({ ...s, messages: upsertMessages(s.messages, [ev.data.message]) }));
        break;
      case 'reaction:updated':
        live?.set((s) => ({ ...s, messages: setReactions(s.messages, ev.data.messageId, ev.data.reactions) }));
        break;
      case 'member:joined':
      case 'member:updated':
        stores.setReceipt(id, ev.data.member.userId, ev.data.member.readSeq, ev.data.member.deliveredSeq);
        break;
      case 'member:left':
        receipts.set((r) => (r[id] ? withKey(r, id, withKey(r[id], ev.data.userId, undefined)) : r));
        break;
    }
  }

  const log =
    <E extends LogEvent['type']>(type: E) =>
    (d: ServerEvents[E]) =>
      deps.receive({ type, conversationId: d.conversationId, seq: d.seq, data: d } as LogEvent);
  /** Events not listed only reach `on` listeners. */
  const HANDLERS: { [E in ServerEventName]?: (d: ServerEvents[E]) => void } = {
    'message:new': log('message:new'),
    'message:updated': log('message:updated'),
    'message:deleted': log('message:deleted'),
    'reaction:updated': log('reaction:updated'),
    'member:joined': log('member:joined'),
    'member:updated': log('member:updated'),
    'member:left': log('member:left'),
    'conversation:updated': log('conversation:updated'),
    'receipt:updated': (d) => stores.setReceipt(d.conversationId, d.userId, d.readSeq, d.deliveredSeq),
    'unread:update': (d) => {
      const user = me();
      if (user) stores.setReceipt(d.conversationId, user, d.readSeq, receipts.get()[d.conversationId]?.[user]?.deliveredSeq ?? 0);
      stores.applyUnread(d);
    },
    'typing:update': (d) => stores.setTyping(d.conversationId, d.userId, d.typing),
    'presence:update': (d) => stores.presence.set((p) => withKey(p, d.userId, d)),
    'notification:new': ({ notification, unreadCount }) => {
      stores.notifications.set((s) => ({ ...s, unreadCount, items: withNotification(s, notification) }));
      // Added to a conversation (group_invite): it takes no seq of ours, so fetch it now.
      const cid = notification.data?.conversationId;
      if (typeof cid === 'string' && !conversations.get().byId[cid]) deps.unknown(cid);
    },
    'notification:updated': (d) => stores.notifications.set((s) => ({ ...s, unreadCount: d.unreadCount })),
    // A cluster's bus subscription came back: what it missed comes by sync.
    'sync:required': () => deps.resync(),
  };

  return {
    apply,
    /** Every event the connection received, exactly as received. */
    onEvent(name: unknown, data: unknown) {
      if (typeof name !== 'string' || !Object.hasOwn(GUARDS, name)) return stores.count('unknownEvents');
      if (!GUARDS[name as ServerEventName](data)) return stores.count('malformedEvents');
      try {
        HANDLERS[name as ServerEventName]?.(data as never);
      } catch (err) {
        stores.count('handlerErrors');
        deps.onError(err);
      }
      for (const fn of listeners.get(name) ?? []) {
        try {
          fn(data as never);
        } catch (err) {
          deps.onError(err);
        }
      }
    },
    /** Raw server events, typed; returns an unsubscribe. */
    on<E extends ServerEventName>(event: E, fn: (data: ServerEvents[E]) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(fn as (data: never) => void);
      return () => set.delete(fn as (data: never) => void);
    },
  };
}
