import { createContext, createElement, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ParleyClient } from '../client.ts';
import type { ConnectionState } from '../connection.ts';
import type { OutboxEntry, SendInput } from '../outbox.ts';
import { selectConversationList } from '../state/conversations.ts';
import { LIMITS } from '../../../protocol/limits.ts';
import type { Conversation, Member, Message, Notification, Presence } from '../../../protocol/types.ts';
import { sameItems, sameRecord, useStore } from './store.ts';

/**
 * React bindings for parley-client. Every hook reads through useSyncExternalStore with a
 * selector, so a component re-renders only when its own slice changes: typing and
 * presence live in stores apart from messages, and each conversation has its own.
 */

const Context = createContext<ParleyClient | null>(null);

/** Makes `client` available to the hooks below. Create the client once, outside render. */
export function ParleyProvider(props: { client: ParleyClient; children?: ReactNode }) {
  return createElement(Context.Provider, { value: props.client }, props.children);
}

/** The client given to ParleyProvider. */
export function useParley(): ParleyClient {
  const client = useContext(Context);
  if (!client) throw new Error('parley-client/react: wrap the app in <ParleyProvider client={client}>');
  return client;
}

/** `status` (connecting, connected, reconnecting, offline, closed), `synced`, and why it closed. */
export function useConnectionState(): ConnectionState {
  const client = useParley();
  return useStore(client.connection, (s) => s);
}

/** The conversation list, most recently active first, with unread counts and last messages. */
export function useConversations(): { conversations: Conversation[]; loaded: boolean; hasMore: boolean; loadMore: () => Promise<void> } {
  const client = useParley();
  const conversations = useStore(client.conversations, selectConversationList);
  const loaded = useStore(client.conversations, (s) => s.loaded);
  const hasMore = useStore(client.conversations, (s) => s.nextCursor !== null);
  const loadMore = useCallback(() => client.loadConversations(true), [client]);
  return { conversations, loaded, hasMore, loadMore };
}

/** One conversation (fetched when it is not in the list yet). */
export function useConversation(id: string): Conversation | undefined {
  const client = useParley();
  const conversation = useStore(client.conversations, (s) => s.byId[id]);
  useEffect(() => {
    if (!conversation) client.loadConversation(id);
  }, [client, id, conversation]);
  return conversation;
}

/** The member list's pages loaded so far: whose conversation they belong to, and where the next starts. */
interface MemberPages {
  conversationId: string;
  members: Member[];
  cursor: string | null;
}

/**
 * Every member of a conversation: the conversation's own (its first 100, kept live), then the
 * rest from the server's member list a page at a time on `loadMore`; `hasMore` while some are
 * not loaded.
 */
export function useMembers(conversationId: string): { members: readonly Member[]; hasMore: boolean; loading: boolean; loadMore: () => Promise<void> } {
  const client = useParley();
  const c = useConversation(conversationId);
  const [loaded, setLoaded] = useState<MemberPages | null>(null);
  const [loading, setLoading] = useState(false);
  const pages = loaded?.conversationId === conversationId ? loaded : null;
  const inline = c?.members;
  // The store keeps the conversation's own members live (joins appended, leaves removed,
  // roles updated); loaded pages are not, so a member who leaves leaves them here.
  useEffect(
    () =>
      client.on('member:left', (d) => {
        if (d.conversationId !== conversationId) return;
        setLoaded((l) => (l?.conversationId === conversationId ? { ...l, members: l.members.filter((m) => m.userId !== d.userId) } : l));
      }),
    [client, conversationId],
  );
  // Pages start at the first member, in join order; the store's copy of a member wins (it is
  // live), and members who joined after the pages were read follow them.
  const members = useMemo(() => {
    if (!inline || !pages) return inline ?? [];
    const live = new Map(inline.map((m) => [m.userId, m]));
    const paged = new Set(pages.members.map((m) => m.userId));
    return [...pages.members.map((m) => live.get(m.userId) ?? m), ...inline.filter((m) => !paged.has(m.userId))];
  }, [inline, pages]);
  const hasMore = pages ? pages.cursor !== null : (c?.memberCount ?? 0) > (inline?.length ?? 0);
  const loadMore = useCallback(async () => {
    if (!inline) return;
    setLoading(true);
    try {
      // No cursor points past the conversation's own members: the first page asks for them
      // too, so the pages hold every member from the first on.
      const page = pages?.cursor
        ? await client.rest.members(conversationId, { limit: LIMITS.memberPageDefault, cursor: pages.cursor })
        : await client.rest.members(conversationId, { limit: Math.min(inline.length + LIMITS.memberPageDefault, LIMITS.memberPageMax) });
      setLoaded({ conversationId, members: [...(pages?.members ?? []), ...page.members], cursor: page.nextCursor });
    } finally {
      setLoading(false);
    }
  }, [client, conversationId, inline, pages]);
  return { members, hasMore, loading, loadMore };
}

const unsent = (id: string) => (list: OutboxEntry[]) => list.filter((e) => e.conversationId === id && e.status !== 'sent');

/**
 * A conversation's messages, oldest first, kept live (new ones, edits, deletes, reactions),
 * and `pending`: your sends the server has not stored yet (pending or failed), in send order.
 */
export function useMessages(id: string): { messages: readonly Message[]; pending: OutboxEntry[]; hasMore: boolean; loading: boolean; loadOlder: (limit?: number) => Promise<void> } {
  const client = useParley();
  const store = useMemo(() => client.messages(id), [client, id]);
  const messages = useStore(store, (s) => s.messages);
  const hasMore = useStore(store, (s) => s.hasMore);
  const loading = useStore(store, (s) => s.loading);
  const pending = useStore(client.outbox, useMemo(() => unsent(id), [id]), sameItems);
  useEffect(() => {
    void client.openConversation(id).catch(() => {});
  }, [client, id]);
  const loadOlder = useCallback((limit?: number) => client.loadOlder(id, limit), [client, id]);
  return { messages, pending, hasMore, loading, loadOlder };
}

/** Sends to a conversation through the outbox: shown at once, delivered once, in order. */
export function useSendMessage(conversationId: string): {
  send: (input: string | SendInput) => OutboxEntry;
  retry: (clientMsgId: string) => void;
  discard: (clientMsgId: string) => void;
} {
  const client = useParley();
  return useMemo(() => ({ send: (input: string | SendInput) => client.send(conversationId, input), retry: client.retry, discard: client.discard }), [client, conversationId]);
}

const none: readonly string[] = [];

/** Who else is typing in a conversation; call `startTyping` on keystrokes and `stopTyping` on send or blur. */
export function useTyping(conversationId: string): { typing: readonly string[]; startTyping: () => void; stopTyping: () => void } {
  const client = useParley();
  const typing = useStore(client.typing, (t) => (t[conversationId] ?? none).filter((u) => u !== client.userId()), sameItems);
  return useMemo(
    () => ({ typing, startTyping: () => client.startTyping(conversationId), stopTyping: () => client.stopTyping(conversationId) }),
    [client, conversationId, typing],
  );
}

/** These users' presence, kept live (fetched on mount and after every reconnect). */
export function usePresence(userIds: readonly string[]): Readonly<Record<string, Presence | undefined>> {
  const client = useParley();
  const key = userIds.join(',');
  useEffect(() => client.watchPresence(key ? key.split(',') : []), [client, key]);
  return useStore(client.presence, (p) => Object.fromEntries(userIds.map((u) => [u, p[u]])), sameRecord);
}

/** Unread messages: in one conversation, or in all (muted ones left out). */
export function useUnread(conversationId?: string): number {
  const client = useParley();
  return useStore(client.conversations, (s) => (conversationId === undefined ? s.totalUnread : (s.byId[conversationId]?.unreadCount ?? 0)));
}

/** The notification inbox (first page loaded on mount) and its unread count. */
export function useNotifications(): {
  notifications: readonly Notification[];
  unreadCount: number;
  hasMore: boolean;
  loadMore: () => Promise<void>;
  markRead: (id: string) => Promise<void>;
  markAllRead: () => Promise<void>;
  remove: (id: string) => Promise<void>;
} {
  const client = useParley();
  const notifications = useStore(client.notifications, (s) => s.items);
  const unreadCount = useStore(client.notifications, (s) => s.unreadCount);
  const hasMore = useStore(client.notifications, (s) => s.nextCursor !== null);
  useEffect(() => {
    if (!client.notifications.get().loaded) client.loadNotifications().catch(() => {});
  }, [client]);
  const actions = useMemo(
    () => ({
      loadMore: () => client.loadNotifications(true),
      markRead: client.markNotificationRead,
      markAllRead: client.markAllNotificationsRead,
      remove: client.deleteNotification,
    }),
    [client],
  );
  return { notifications, unreadCount, hasMore, ...actions };
}

/** How far each member read and received in a conversation (for "seen by"). */
export function useReceipts(conversationId: string): Readonly<Record<string, { readSeq: number; deliveredSeq: number }>> {
  const client = useParley();
  return useStore(client.receipts, (r) => r[conversationId] ?? emptyReceipts);
}
const emptyReceipts = {};

export { useStore } from './store.ts';
