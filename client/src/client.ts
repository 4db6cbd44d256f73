import type { CommandName, CommandPayloads, CommandResults } from '../../protocol/event-map.ts';
import type { Message } from '../../protocol/types.ts';
import type { BackoffOptions } from './backoff.ts';
import { type Connection, type ConnectionState, createConnection } from './connection.ts';
import { ParleyError } from './errors.ts';
import { createEventHandlers } from './events.ts';
import { GUARDS } from './guards.ts';
import { createHistory, PAGE } from './history.ts';
import { createOutbox, type OutboxEntry, type SendInput } from './outbox.ts';
import { createRest, type Rest } from './rest.ts';
import type { MessagesState } from './state/messages.ts';
import { createClientStores } from './state/stores.ts';
import { type ClientStorage, defaultStorage } from './storage.ts';
import type { ReadableStore, Store } from './store.ts';
import { createSync } from './sync.ts';
import { type TokenOptions, tokenSource } from './token.ts';
import type { OpenTransport, Transport } from './transport.ts';
import type { WebSocketConstructor } from './transport-ws.ts';

export interface ClientOptions extends TokenOptions {
  /** The Parley server, e.g. `https://chat.example.com`. */
  url: string;
  /** Default `socketio`. `ws` needs no dependency (on Node 20, pass `WebSocket` from the `ws` package). */
  transport?: 'socketio' | 'ws';
  /** Cursors and outbox; default IndexedDB in browsers, memory elsewhere. */
  storage?: ClientStorage;
  WebSocket?: WebSocketConstructor;
  backoff?: BackoffOptions;
  /** How long a command waits for its ack (ms). Default 10 000. */
  requestTimeoutMs?: number;
  /** Problems the client handled by itself (a handler error, a failed background load). */
  onError?(err: unknown): void;
  fetch?: typeof fetch;
}

const TYPING_RESEND_MS = 2000;

/**
 * A Parley client: one connection kept alive, gapless sync, an offline outbox, and stores
 * an app renders from. Framework-free; `parley-client/react` wraps it in hooks.
 */
export function createClient(options: ClientOptions) {
  const onError = options.onError ?? (() => {});
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const tokens = tokenSource(options, onError);
  const rest: Rest = createRest({ url: options.url, token: tokens.get, refreshToken: tokens.refresh, ...(options.fetch ? { fetch: options.fetch } : {}) });

  let me: string | null = null;
  const stores = createClientStores(() => me);
  const { conversations, typing, presence, receipts, notifications, stats, messagesOf, count } = stores;
  const watched = new Set<string>();
  const typingSent = new Map<string, number>();
  const fetching = new Set<string>();
  const history = createHistory(rest, messagesOf);

  // Persisted state is per user: one browser profile may sign in as several.
  const storage = options.storage ?? defaultStorage();
  const scope = tokens.get().then(
    () => {
      me = tokens.subject() ?? me;
      return `parley:${me ?? 'anonymous'}:${options.url}:`;
    },
    (err) => {
      onError(err);
      return 'parley:anonymous:';
    },
  );
  const scoped: ClientStorage = {
    get: async (k) => storage.get((await scope) + k),
    set: async (k, v) => storage.set((await scope) + k, v),
  };

  async function request<C extends CommandName>(name: C, data: CommandPayloads[C]): Promise<CommandResults[C]> {
    const t = connection.transport();
    if (!t) throw new ParleyError({ code: 'disconnected', message: 'Not connected' });
    let ack: Awaited<ReturnType<Transport['request']>>;
    try {
      ack = await t.request(name, data, timeoutMs);
    } catch (err) {
      throw new ParleyError({ code: (err as { reason?: string }).reason === 'timeout' ? 'timeout' : 'disconnected', message: String(err) });
    }
    if (!ack.ok) throw new ParleyError(ack.error);
    return ack.data as CommandResults[C];
  }
  /** Over the live connection when there is one, else over REST. */
  const either = <T>(live: () => Promise<T>, viaRest: () => Promise<T>) => (connection.transport() ? live() : viaRest());

  // ---- applying what the server says --------------------------------------------------

  function removeConversation(id: string) {
    stores.forget(id);
    sync.drop(id);
  }

  /** Fetches a conversation new to this client; its summary is current as of its lastSeq, so the cursor starts there. */
  function fetchConversation(id: string) {
    if (fetching.has(id)) return;
    fetching.add(id);
    rest
      .getConversation(id)
      .then(async (c) => {
        stores.putConversation(c);
        sync.seed(c.id, c.lastSeq);
        // Its unread messages are not in the total yet.
        await refreshUnread();
      })
      .catch((err) => {
        // Gone already (left, removed): nothing to show.
        if (!(err instanceof ParleyError && (err.code === 'not_found' || err.code === 'forbidden'))) onError(err);
      })
      .finally(() => fetching.delete(id));
  }

  const refreshUnread = async () => stores.setUnread(await rest.unread());

  const events = createEventHandlers({
    stores,
    me: () => me,
    receive: (ev) => sync.receive(ev),
    resync: () => void sync.run().catch(onError),
    unknown: fetchConversation,
    remove: removeConversation,
    ownMessage: (m) => outbox.markSent(m),
    onError,
  });

  /**
   * The inbox's unread count as answered to a request of ours, unless a live one came while
   * the request was on its way. Every change to the count reaches the connection as an
   * event, in order, so such an event is at least as new as the answer; applied after it, the
   * answer (read on the server before the event's change, say a notification sent meanwhile)
   * would set the count back until the next event.
   */
  let liveCounts = 0;
  for (const e of ['notification:new', 'notification:updated'] as const) events.on(e, () => liveCounts++);
  async function countAnswer<T>(ask: () => Promise<T>): Promise<{ answer: T; current: boolean }> {
    const seen = liveCounts;
    const answer = await ask();
    return { answer, current: liveCounts === seen };
  }

  // ---- sync, outbox, connection ---------------------------------------------------------

  const sync = createSync({
    storage: scoped,
    key: 'cursors',
    async request(cursors) {
      const page = await request('sync', { cursors, limit: 500 });
      const ids = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
      if (!page || !Array.isArray(page.changes) || !ids(page.reset) || !ids(page.removed)) {
        count('malformedEvents');
        throw new ParleyError({ code: 'internal_error', message: 'malformed sync reply' });
      }
      // A change that does not look like its live event is dropped like one.
      const changes = page.changes.filter((c) => Object.hasOwn(GUARDS, c?.type) && GUARDS[c.type](c.data) && c.conversationId === c.data.conversationId && c.seq === c.data.seq);
      for (let n = page.changes.length - changes.length; n > 0; n--) count('malformedEvents');
      return { ...page, changes };
    },
    apply: (ev) => events.apply(ev),
    async reset(id) {
      try {
        const c = await rest.getConversation(id);
        if (stores.replaceConversation(c)) await history.loadNewest(id);
        return c.lastSeq;
      } catch (err) {
        if (!(err instanceof ParleyError && (err.code === 'not_found' || err.code === 'forbidden'))) throw err;
        removeConversation(id);
        return null;
      }
    },
    removed: removeConversation,
    unknown: fetchConversation,
    count,
    onError,
  });

  const outbox = createOutbox({
    storage: scoped,
    key: 'outbox',
    connected: () => !!connection.transport(),
    onError,
    async send(e) {
      const { clientMsgId, conversationId, body, attachments, replyTo, mentions } = e;
      const m = await request('message:send', { conversationId, clientMsgId, body, ...(attachments ? { attachments } : {}), ...(replyTo ? { replyTo } : {}), ...(mentions ? { mentions } : {}) });
      stores.showOwn(m);
      sync.own(m.conversationId, m.seq);
      return m;
    },
  });

  async function loadConversations(more = false) {
    const s = conversations.get();
    if (more && !s.nextCursor) return;
    const page = await rest.listConversations({ limit: PAGE, ...(more && s.nextCursor ? { cursor: s.nextCursor } : {}) });
    for (const c of page.conversations) {
      stores.putConversation(c);
      sync.seed(c.id, c.lastSeq);
    }
    conversations.set((x) => ({ ...x, loaded: true, nextCursor: page.nextCursor }));
  }

  async function refreshPresence(ids: string[]) {
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const list = await either(async () => (await request('presence:get', { userIds: chunk })).presence, () => rest.presence(chunk));
      presence.set((p) => Object.assign({ ...p }, Object.fromEntries(list.map((x) => [x.userId, x]))));
    }
  }

  async function loadNotifications(more = false) {
    const s = notifications.get();
    if (more && !s.nextCursor) return;
    const page = await rest.notifications({ limit: PAGE, ...(more && s.nextCursor ? { cursor: s.nextCursor } : {}) });
    notifications.set((x) => {
      const have = new Set(more ? x.items.map((n) => n.id) : []);
      const items = more ? [...x.items, ...page.notifications.filter((n) => !have.has(n.id))] : page.notifications;
      return { ...x, items, loaded: true, nextCursor: page.nextCursor };
    });
  }

  async function onConnected(t: Transport) {
    void outbox.flush();
    try {
      if (!conversations.get().loaded) await loadConversations();
      await sync.run();
      // Exact counts after the replay (it may have counted a message the snapshot had too).
      const [, count] = await Promise.all([refreshUnread(), countAnswer(rest.notificationUnreadCount)]);
      if (count.current) notifications.set((s) => ({ ...s, unreadCount: count.answer }));
      // An inbox loaded while no connection was up (or before this one) missed what came meanwhile.
      if (notifications.get().loaded) await loadNotifications();
      if (watched.size) await refreshPresence([...watched]);
      // Conversations opened while the server was out of reach load now.
      await Promise.all(stores.unloadedMessages().map((id) => history.loadNewest(id).catch(onError)));
      if (connection.transport() === t) connection.markSynced();
    } catch (err) {
      if (connection.transport() === t) onError(err);
    }
  }

  // Cursors and outbox from the last run, before the first connect uses them.
  const loaded = Promise.all([sync.load(), outbox.load()]).catch(onError);
  const connection: Connection = createConnection({
    url: options.url,
    open: (): Promise<OpenTransport> =>
      options.transport === 'ws' ? import('./transport-ws.ts').then((m) => m.wsTransport(options.WebSocket)) : import('./transport-socketio.ts').then((m) => m.socketIoTransport),
    tokens,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    timeoutMs: 15_000,
    init: loaded,
    event: events.onEvent,
    malformed: () => count('malformedEvents'),
    connected: (t, ready) => {
      me = ready.userId;
      void onConnected(t);
    },
    onError,
  });

  const readable = <T>(s: Store<T>): ReadableStore<T> => ({ get: s.get, subscribe: s.subscribe });

  return {
    /** Connection status; see ConnectionState. */
    connection: readable(connection.state) as ReadableStore<ConnectionState>,
    conversations: readable(conversations),
    /** One conversation's loaded messages (its own store: others' messages never notify it). */
    messages: (conversationId: string): ReadableStore<MessagesState> => readable(messagesOf(conversationId)),
    /** Every send not yet stored by the server (and the recently sent ones), in send order. */
    outbox: readable(outbox.store) as ReadableStore<OutboxEntry[]>,
    typing: readable(typing),
    presence: readable(presence),
    receipts: readable(receipts),
    notifications: readable(notifications),
    stats: readable(stats),
    /** Every REST route, typed. */
    rest,
    /** The signed-in user (from the token, confirmed on connect). */
    userId: () => me,

    /** Any command over the live connection; rejects with ParleyError (`disconnected` when offline). */
    request,
    /** Raw server events, typed; for what the stores do not cover. Returns an unsubscribe. */
    on: events.on,

    /**
     * Sends a message: shown at once as `pending` (in `outbox` and in useMessages), persisted,
     * sent now or when the connection is back, with the same clientMsgId every time.
     */
    send(conversationId: string, input: string | SendInput): OutboxEntry {
      return outbox.add(conversationId, typeof input === 'string' ? { body: input } : input);
    },
    /** Sends a `failed` message again (same clientMsgId). */
    retry: outbox.retry,
    /** Drops a `failed` (or still pending) message from the outbox. */
    discard: outbox.discard,
    editMessage: (messageId: string, body: string) =>
      either(() => request('message:edit', { messageId, body }), () => rest.editMessage(messageId, body)).then(own),
    deleteMessage: (messageId: string) => either(() => request('message:delete', { messageId }), () => rest.deleteMessage(messageId)).then(own),
    addReaction: (messageId: string, emoji: string) =>
      either(() => request('reaction:add', { messageId, emoji }), () => rest.addReaction(messageId, emoji)).then(own),
    removeReaction: (messageId: string, emoji: string) =>
      either(() => request('reaction:remove', { messageId, emoji }), () => rest.removeReaction(messageId, emoji)).then(own),
    /** Moves your read marker (default: to the latest); the unread counts follow. */
    async markRead(conversationId: string, seq?: number) {
      const change = await either(
        () => request('conversation:read', { conversationId, ...(seq === undefined ? {} : { seq }) }),
        () => rest.markRead(conversationId, seq),
      );
      stores.applyUnread(change);
      return change;
    },
    /** Says you are typing in a conversation; call it on keystrokes (it sends at most one per 2 s). */
    startTyping(conversationId: string) {
      const now = Date.now();
      if (now - (typingSent.get(conversationId) ?? 0) < TYPING_RESEND_MS || !connection.transport()) return;
      typingSent.set(conversationId, now);
      request('typing:start', { conversationId }).catch(() => {});
    },
    stopTyping(conversationId: string) {
      if (!typingSent.delete(conversationId) || !connection.transport()) return;
      request('typing:stop', { conversationId }).catch(() => {});
    },

    /** The first page of conversations (done on the first connect), or the next one. */
    loadConversations,
    /** Fetches a conversation not in `conversations` yet (e.g. opened from a link). */
    loadConversation(conversationId: string) {
      if (!conversations.get().byId[conversationId]) fetchConversation(conversationId);
    },
    /** A conversation's newest messages, once (later calls return at once); live ones are kept from then on. */
    openConversation: history.open,
    /** The page of messages before the oldest loaded one. `limit`: messages per page (the server allows up to 200); a reader scrolling back far wants more than the first page's. */
    loadOlder: history.loadOlder,
    /** Creates a conversation and puts it in the list (direct ones are deduplicated by the server). */
    async createConversation(body: Parameters<Rest['createConversation']>[0]) {
      const c = await rest.createConversation(body);
      stores.putConversation(c);
      sync.seed(c.id, c.lastSeq);
      return c;
    },

    /** Keeps these users' presence in `presence`, now and after every reconnect. */
    watchPresence(userIds: string[]) {
      const fresh = userIds.filter((u) => !watched.has(u));
      for (const u of fresh) watched.add(u);
      if (fresh.length) refreshPresence(fresh).catch(onError);
      return () => {
        for (const u of fresh) watched.delete(u);
      };
    },
    setPresence: (data: CommandPayloads['presence:set']) => either(() => request('presence:set', data), () => rest.setStatus(data)),

    /** The first page of the notification inbox, or the next one. */
    loadNotifications,
    async markNotificationRead(id: string) {
      const { answer: r, current } = await countAnswer(() => either(() => request('notification:read', { notificationId: id }), () => rest.markNotificationRead(id)));
      notifications.set((s) => ({ ...s, unreadCount: current ? r.unreadCount : s.unreadCount, items: s.items.map((n) => (n.id === id ? r.notification : n)) }));
    },
    async markAllNotificationsRead() {
      const { answer: r, current } = await countAnswer(rest.markAllNotificationsRead);
      const at = new Date().toISOString();
      notifications.set((s) => ({ ...s, unreadCount: current ? r.unreadCount : s.unreadCount, items: s.items.map((n) => (n.readAt ? n : { ...n, readAt: at })) }));
    },
    async deleteNotification(id: string) {
      await rest.deleteNotification(id);
      const count = await countAnswer(rest.notificationUnreadCount);
      notifications.set((s) => ({ ...s, unreadCount: count.current ? count.answer : s.unreadCount, items: s.items.filter((n) => n.id !== id) }));
    },

    /** Resolves when the outbox and cursors as they are now are in storage (say, before a page unloads). */
    persisted: () => Promise.all([outbox.saved(), sync.flush()]).then(() => {}),
    /** Tries to connect now instead of waiting out the backoff. */
    reconnect: connection.reconnect,
    /** Closes for good; persisted state (cursors, outbox) is written first. */
    async close() {
      connection.close();
      tokens.stop();
      outbox.stop();
      stores.stopTimers();
      await Promise.all([outbox.saved(), sync.flush().catch(onError)]);
    },
  };

  function own(m: Message) {
    stores.showOwn(m);
    return m;
  }
}

export type ParleyClient = ReturnType<typeof createClient>;
