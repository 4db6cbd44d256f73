import { createElement, type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type Conversation, createClient, type Message, type NotificationPreferences, type OutboxEntry, type ParleyClient } from '../../client/src/index.ts';
import {
  ParleyProvider,
  useConnectionState,
  useConversation as useSdkConversation,
  useMembers,
  useMessages as useSdkMessages,
  useNotifications,
  useParley,
  usePresence,
  useReceipts,
  useSendMessage,
  useStore,
  useTyping as useSdkTyping,
  useUnread,
} from '../../client/src/react/index.ts';
import type { RowMessage, SendState } from './components/message-row.tsx';
import { requestToken, type Session, tokenRefused, useSessionStore } from './session.ts';

/**
 * The app's view of the SDK: one client per signed-in session, and the SDK's hooks shaped
 * for the screens (rows with their send state, ticks from receipts, archived conversations
 * kept in the list). Everything goes through `client/`; nothing here talks to the server
 * by itself.
 */
export { useMembers, useNotifications, usePresence };

/** The token for the SDK: the session's, a fresh one from the embedding page when it expires. */
function tokenProvider(sessions: ReturnType<typeof useSessionStore>) {
  return () =>
    new Promise<string>((resolve, reject) => {
      const now = sessions.get();
      if (now && now.expiresAt > Date.now() + 10_000) return resolve(now.token);
      if (!now || now.source === 'dev') {
        tokenRefused();
        return reject(new Error('signed out'));
      }
      requestToken();
      const stop = sessions.subscribe(() => {
        const next = sessions.get();
        stop();
        if (next && next.expiresAt > Date.now() + 10_000) resolve(next.token);
        else reject(new Error('signed out'));
      });
    });
}

/** Marks delivered what reached this browser, so senders see two ticks. */
function deliverAsItArrives(client: ParleyClient): () => void {
  const sent = new Map<string, number>();
  return client.conversations.subscribe(() => {
    const me = client.userId();
    if (!me || client.connection.get().status !== 'connected') return;
    for (const c of Object.values(client.conversations.get().byId)) {
      const last = c.lastMessage;
      if (!last || last.senderId === me || (sent.get(c.id) ?? 0) >= last.seq) continue;
      const mine = client.receipts.get()[c.id]?.[me]?.deliveredSeq ?? 0;
      if (mine >= last.seq) continue;
      sent.set(c.id, last.seq);
      client.request('conversation:delivered', { conversationId: c.id, seq: last.seq }).catch(() => sent.delete(c.id));
    }
  });
}

export function ParleyData({ session, children }: { session: Session; children: ReactNode }) {
  const sessions = useSessionStore();
  const [client, setClient] = useState<ParleyClient | null>(null);
  const token = session.token;
  // Made in the effect, so that every client made is also closed (React's development mode
  // runs an effect, cleans it up and runs it again). A renewed token reaches the client
  // through its tokenProvider, not as a new client.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the first token only
  useEffect(() => {
    const c = createClient({
      url: location.origin,
      // The plain WebSocket: browsers have it built in, so no Socket.IO client in the bundle.
      transport: 'ws',
      token,
      tokenProvider: tokenProvider(sessions),
      onError: (err) => console.warn('parley:', err),
    });
    const stopDelivered = deliverAsItArrives(c);
    const stopClosed = c.connection.subscribe(() => {
      const closed = c.connection.get().closed;
      if (closed && closed.code !== 'client_closed') tokenRefused();
    });
    // Time to interactive, for the figures (test/web-load.test.ts): the list is on screen.
    const stopMark = c.conversations.subscribe(() => {
      if (c.conversations.get().loaded && performance.getEntriesByName('parley:interactive').length === 0) performance.mark('parley:interactive');
    });
    setClient(c);
    return () => {
      stopDelivered();
      stopClosed();
      stopMark();
      void c.close();
    };
  }, [sessions]);
  return client ? createElement(ParleyProvider, { client }, children) : null;
}

export type LiveState = 'connecting' | 'connected' | 'syncing' | 'reconnecting' | 'offline';

const countQueued = (list: OutboxEntry[]): number => list.filter((e) => e.status === 'pending' || e.status === 'sending').length;

export function useConnection(): { state: LiveState; queued: number } {
  const c = useConnectionState();
  const queued = useStore(useParley().outbox, countQueued);
  const state: LiveState =
    c.status === 'connected' ? (c.synced ? 'connected' : 'syncing') : c.status === 'offline' ? 'offline' : c.status === 'connecting' ? 'connecting' : 'reconnecting';
  return { state, queued };
}

export const useUnreadTotal = (): number => useUnread();

let lastById: unknown = null;
let lastAll: Conversation[] = [];
/** Every conversation, archived ones too (the list shows them apart), most recent activity first. */
function allConversations(byId: Readonly<Record<string, Conversation>>): Conversation[] {
  if (byId !== lastById) {
    lastById = byId;
    lastAll = Object.values(byId).sort((a, b) => (a.lastActivityAt < b.lastActivityAt ? 1 : a.lastActivityAt > b.lastActivityAt ? -1 : 0));
  }
  return lastAll;
}

const allOf = (s: { byId: Readonly<Record<string, Conversation>> }) => allConversations(s.byId);
const notLoaded = (s: { loaded: boolean }) => !s.loaded;

export function useConversations(): { conversations: Conversation[]; loading: boolean } {
  const client = useParley();
  return { conversations: useStore(client.conversations, allOf), loading: useStore(client.conversations, notLoaded) };
}

/** One conversation, with each member's read and delivered marks kept live from receipts. */
export function useConversation(id: string): Conversation | undefined {
  const c = useSdkConversation(id);
  const receipts = useReceipts(id);
  return useMemo(() => (c ? { ...c, members: c.members.map((m) => ({ ...m, ...(receipts[m.userId] ?? {}) })) } : c), [c, receipts]);
}

function sendStateOf(e: OutboxEntry, live: boolean): SendState {
  if (e.status === 'failed') return { state: 'failed', reason: e.error?.message ?? 'refused' };
  return live ? { state: 'pending' } : { state: 'queued' };
}

/** An outbox entry shown as a message until the server stores it. */
function pendingMessage(e: OutboxEntry, me: string): Message {
  return {
    id: `pending:${e.clientMsgId}`,
    conversationId: e.conversationId,
    seq: Number.MAX_SAFE_INTEGER,
    senderId: me,
    clientMsgId: e.clientMsgId,
    body: e.body,
    attachments: e.attachments ?? [],
    replyTo: e.replyTo ?? null,
    replyCount: 0,
    mentions: e.mentions ?? [],
    reactions: [],
    createdAt: e.createdAt,
    editedAt: null,
    deletedAt: null,
  };
}

/** Ticks from the receipts: read when every other member read past it, delivered likewise. */
function withStatus(m: Message, me: string, receipts: Readonly<Record<string, { readSeq: number; deliveredSeq: number }>> | undefined): Message {
  if (m.senderId !== me || !receipts) return m;
  const others = Object.entries(receipts).filter(([u]) => u !== me);
  if (!others.length) return m;
  const status = others.every(([, r]) => r.readSeq >= m.seq) ? 'read' : others.every(([, r]) => r.deliveredSeq >= m.seq) ? 'delivered' : 'sent';
  return status === m.status ? m : { ...m, status };
}

/** Messages per page when scrolling back: fewer round trips through a long history. */
const OLDER_PAGE = 100;

export function useMessages(id: string): { rows: RowMessage[]; hasMore: boolean; loadingOlder: boolean; loadOlder(): void } {
  const client = useParley();
  const { messages, pending, hasMore, loading, loadOlder } = useSdkMessages(id);
  const receipts = useReceipts(id);
  const live = useConnectionState().status === 'connected';
  const me = client.userId() ?? '';
  const cache = useRef(new Map<Message, RowMessage>());
  const rows = useMemo(() => {
    const stored = new Set(messages.map((m) => m.clientMsgId));
    const next = new Map<Message, RowMessage>();
    const out: RowMessage[] = [];
    for (const raw of messages) {
      const m = withStatus(raw, me, receipts);
      // The same row object for an unchanged message, so memoised rows do not re-render.
      const row = cache.current.get(m) ?? { message: m };
      next.set(m, row);
      out.push(row);
    }
    cache.current = next;
    for (const e of pending) if (!stored.has(e.clientMsgId)) out.push({ message: pendingMessage(e, me), send: sendStateOf(e, live) });
    return out;
  }, [messages, pending, receipts, live, me]);
  // A failed page (offline, say) is not asked for again at once: the list would ask on every render.
  const failedAt = useRef(0);
  const older = useCallback(() => {
    if (Date.now() - failedAt.current < 5000) return;
    loadOlder(OLDER_PAGE).catch(() => {
      failedAt.current = Date.now();
    });
  }, [loadOlder]);
  return { rows, hasMore, loadingOlder: loading && messages.length > 0, loadOlder: older };
}

export function useSend(id: string) {
  const { send, retry, discard } = useSendMessage(id);
  return useMemo(
    () => ({
      send: (body: string, opts: { replyTo?: string | undefined; mentions: string[] }) =>
        void send({ body, ...(opts.replyTo ? { replyTo: opts.replyTo } : {}), ...(opts.mentions.length ? { mentions: opts.mentions } : {}) }),
      retry,
      discard,
    }),
    [send, retry, discard],
  );
}

export function useTyping(id: string): { userIds: readonly string[]; setTyping(on: boolean): void } {
  const { typing, startTyping, stopTyping } = useSdkTyping(id);
  const setTyping = useMemo(() => (on: boolean) => (on ? startTyping() : stopTyping()), [startTyping, stopTyping]);
  return { userIds: typing, setTyping };
}

/** Everything a screen does to the server, through the SDK (one stable object per client). */
export function useActions() {
  const client = useParley();
  return useMemo(() => {
    // Per-user state (mute, archive) comes with the conversation list, not as a log event.
    const refreshList = () => client.loadConversations().catch(() => undefined);
    return {
      markRead: (conversationId: string, seq: number) => void client.markRead(conversationId, seq).catch(() => undefined),
      edit: (messageId: string, body: string) => void client.editMessage(messageId, body).catch(() => undefined),
      remove: (messageId: string) => void client.deleteMessage(messageId).catch(() => undefined),
      react: (messageId: string, emoji: string, on: boolean) =>
        void (on ? client.addReaction(messageId, emoji) : client.removeReaction(messageId, emoji)).catch(() => undefined),
      createConversation: (body: Parameters<ParleyClient['createConversation']>[0]) => client.createConversation(body),
      addMembers: (id: string, userIds: string[]) => client.rest.addMembers(id, { userIds }),
      removeMember: (id: string, userId: string) => client.rest.removeMember(id, userId),
      setMuted: async (id: string, on: boolean) => {
        await (on ? client.rest.mute(id) : client.rest.unmute(id));
        await refreshList();
      },
      setArchived: async (id: string, on: boolean) => {
        await client.rest.archive(id, on);
        await refreshList();
      },
      setStatus: (data: Parameters<ParleyClient['setPresence']>[0]) => client.setPresence(data),
      getPreferences: () => client.rest.preferences(),
      putPreferences: (prefs: NotificationPreferences) => client.rest.setPreferences(prefs),
      vapidPublicKey: () => client.rest.vapidPublicKey(),
      registerWebPush: (subscription: { endpoint: string; keys: { p256dh: string; auth: string } }) => client.rest.registerDevice({ platform: 'webpush', subscription }),
      removeDevice: (id: string) => client.rest.removeDevice(id).then(() => undefined),
    };
  }, [client]);
}
