import type { Conversation, Message, UnreadCounts, UnreadUpdate } from '../../../protocol/types.ts';
import { createStore, type Store, withKey } from '../store.ts';
import { type ConversationsState, emptyConversations, isMuted } from './conversations.ts';
import { type ClientStats, emptyNotifications, emptyStats, type NotificationsState, type PresenceState, type ReceiptsState, type TypingState } from './live.ts';
import { emptyMessages, type MessagesState, upsertMessages } from './messages.ts';
import { ledgerAt, liveChange, serverCount, type UnreadLedger } from './unread-ledger.ts';

/** A `typing: true` shows this long unless renewed: a `typing: false` that never arrives must not leave it showing. */
const TYPING_SHOWN_MS = 8000;

/**
 * Every store a client renders from, and the changes to them that need nothing but the
 * stores: the client decides when (an event, a sync, an ack), these say what changes.
 * `me` is the signed-in user, known once the token (or the connection) says.
 */
export function createClientStores(me: () => string | null) {
  const conversations = createStore<ConversationsState>(emptyConversations);
  const messageStores = new Map<string, Store<MessagesState>>();
  const typing = createStore<TypingState>({});
  const presence = createStore<PresenceState>({});
  const receipts = createStore<ReceiptsState>({});
  const notifications = createStore<NotificationsState>(emptyNotifications);
  const stats = createStore<ClientStats>(emptyStats);
  const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per conversation held: which events its unread count holds (see unread-ledger.ts). */
  const ledgers = new Map<string, UnreadLedger>();
  const ledgerOf = (c: Conversation) => {
    const l = ledgers.get(c.id) ?? ledgerAt(c.lastSeq);
    ledgers.set(c.id, l);
    return l;
  };

  const messagesOf = (id: string) => {
    let s = messageStores.get(id);
    if (!s) {
      s = createStore(emptyMessages);
      messageStores.set(id, s);
    }
    return s;
  };
  /** The conversation's message store when its messages are loaded (or loading): the only ones kept live. */
  const liveMessages = (id: string) => {
    const ms = messageStores.get(id);
    return ms && (ms.get().loaded || ms.get().loading) ? ms : undefined;
  };

  function setReceipt(conversationId: string, userId: string, readSeq: number, deliveredSeq: number) {
    receipts.set((r) => withKey(r, conversationId, withKey(r[conversationId] ?? {}, userId, { readSeq, deliveredSeq })));
  }

  function setTyping(conversationId: string, userId: string, on: boolean) {
    const key = `${conversationId} ${userId}`;
    clearTimeout(typingTimers.get(key));
    typingTimers.delete(key);
    if (on) typingTimers.set(key, setTimeout(() => setTyping(conversationId, userId, false), TYPING_SHOWN_MS));
    typing.set((t) => {
      const list = t[conversationId] ?? [];
      if (list.includes(userId) === on) return t;
      const next = on ? [...list, userId] : list.filter((u) => u !== userId);
      return withKey(t, conversationId, next.length ? next : undefined);
    });
  }

  function putConversation(c: Conversation) {
    conversations.set((s) => {
      const old = s.byId[c.id];
      // A snapshot older than what events already gave us is not taken.
      if (old && old.lastSeq > c.lastSeq) return s;
      // Its count is exact as of its lastSeq.
      ledgers.set(c.id, ledgerAt(c.lastSeq));
      return { ...s, byId: withKey(s.byId, c.id, c) };
    });
    receipts.set((r) => withKey(r, c.id, Object.fromEntries(c.members.map((m) => [m.userId, { readSeq: m.readSeq, deliveredSeq: m.deliveredSeq }]))));
  }

  return {
    conversations,
    typing,
    presence,
    receipts,
    notifications,
    stats,
    messagesOf,
    liveMessages,
    /** Conversations whose message store exists (someone opened it) but holds nothing and is not loading. */
    unloadedMessages: () => [...messageStores].filter(([, ms]) => !ms.get().loaded && !ms.get().loading).map(([id]) => id),
    setReceipt,
    setTyping,
    count: (what: keyof ClientStats) => stats.set((s) => ({ ...s, [what]: s[what] + 1 })),

    putConversation,

    /**
     * Takes a fresh snapshot even if an older one than what events gave (a sync reset: the
     * events in between are gone). Loaded messages have a hole now, so they are emptied;
     * returns whether they were loaded (then load the newest page again).
     */
    replaceConversation(c: Conversation): boolean {
      conversations.set((s) => ({ ...s, byId: withKey(s.byId, c.id, undefined) }));
      ledgers.delete(c.id);
      putConversation(c);
      const ms = messageStores.get(c.id);
      if (!ms?.get().loaded) return false;
      ms.set(emptyMessages);
      return true;
    },

    /** Forgets a conversation; a component still holding its message store sees it empty, and a later open starts afresh. */
    forget(id: string) {
      conversations.set((s) => ({ ...s, byId: withKey(s.byId, id, undefined) }));
      ledgers.delete(id);
      receipts.set((r) => withKey(r, id, undefined));
      messageStores.get(id)?.set(emptyMessages);
      messageStores.delete(id);
    },

    /** A message this client changed itself (acked, not echoed back): show it. */
    showOwn(m: Message) {
      liveMessages(m.conversationId)?.set((s) => ({ ...s, messages: upsertMessages(s.messages, [m]) }));
      conversations.set((s) => {
        const c = s.byId[m.conversationId];
        if (!c || (c.lastMessage && c.lastMessage.seq > m.seq)) return s;
        return { ...s, byId: withKey(s.byId, c.id, { ...c, lastMessage: m, lastActivityAt: m.createdAt > c.lastActivityAt ? m.createdAt : c.lastActivityAt }) };
      });
    },

    /** What a live event (seq order) does to a conversation's unread count: `delta`, or 0 when a server count already holds it. */
    liveUnread: (c: Conversation, seq: number, delta: number) => liveChange(ledgerOf(c), seq, delta),

    /** A read elsewhere (`unread:update`): the server's count for the conversation, and the total moved by as much. */
    applyUnread(u: UnreadUpdate) {
      conversations.set((s) => {
        const c = s.byId[u.conversationId];
        if (!c) return { ...s, totalUnread: u.totalUnread };
        const count = u.lastSeq === undefined ? u.unreadCount : (serverCount(ledgerOf(c), c.lastSeq, u.unreadCount, u.lastSeq) ?? c.unreadCount);
        const members = c.members.map((m) => (m.userId === me() ? { ...m, readSeq: Math.max(m.readSeq, u.readSeq) } : m));
        // An older server says no lastSeq: its total is all there is.
        const totalUnread = u.lastSeq === undefined ? u.totalUnread : Math.max(0, s.totalUnread + (isMuted(c) ? 0 : count - c.unreadCount));
        return { ...s, byId: withKey(s.byId, c.id, { ...c, unreadCount: count, members }), totalUnread };
      });
    },

    /**
     * Unread counts the server read (`GET /v1/me/unread`), for every conversation and in
     * total: a conversation held here takes its count as the ledger brings it forward, and the
     * total moves by the difference (conversations not held here are only in the total).
     */
    setUnread(unread: Omit<UnreadCounts, 'lastSeqs'> & { lastSeqs?: UnreadCounts['lastSeqs'] }) {
      conversations.set((s) => {
        const byId = { ...s.byId };
        let total = unread.totalUnread;
        for (const c of Object.values(byId)) {
          const answered = unread.conversations[c.id] ?? 0;
          const asOf = unread.lastSeqs?.[c.id];
          const count = asOf === undefined ? answered : (serverCount(ledgerOf(c), c.lastSeq, answered, asOf) ?? c.unreadCount);
          if (!isMuted(c)) total += count - answered;
          if (count !== c.unreadCount) byId[c.id] = { ...c, unreadCount: count };
        }
        return { ...s, byId, totalUnread: Math.max(0, total) };
      });
    },

    stopTimers() {
      for (const t of typingTimers.values()) clearTimeout(t);
      typingTimers.clear();
    },
  };
}

export type ClientStores = ReturnType<typeof createClientStores>;
