import type { ErrorBody } from '../../protocol/errors.ts';
import type { CommandPayloads } from '../../protocol/event-map.ts';
import type { Message } from '../../protocol/types.ts';
import { backoffDelay } from './backoff.ts';
import { ParleyError, RETRYABLE } from './errors.ts';
import { uuid } from './ids.ts';
import type { ClientStorage } from './storage.ts';
import { createStore } from './store.ts';

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';

/** One message the user sent, from the moment they sent it until the server stored it (or refused). */
export interface OutboxEntry {
  clientMsgId: string;
  conversationId: string;
  body: string;
  attachments?: CommandPayloads['message:send']['attachments'];
  replyTo?: string;
  mentions?: string[];
  /** When the user sent it (ISO). */
  createdAt: string;
  status: OutboxStatus;
  /** Once `sent`: the stored message's seq and id. */
  seq?: number;
  messageId?: string;
  /** Once `failed`: why (retry() or discard() it). */
  error?: ErrorBody | { code: string; message: string };
}

export type SendInput = Omit<CommandPayloads['message:send'], 'clientMsgId' | 'conversationId'> & { clientMsgId?: string };

interface OutboxDeps {
  storage: ClientStorage;
  key: string;
  /** Sends over the live connection and shows the stored message; rejects with a ParleyError otherwise. */
  send(entry: OutboxEntry): Promise<Message>;
  connected(): boolean;
  onError(err: unknown): void;
}

/** How many `sent` entries stay visible in `entries` (the persisted outbox never holds them). */
const KEEP_SENT = 100;

/**
 * The offline outbox. A send is shown at once (`pending`) and persisted; entries go out one
 * at a time in the order they were sent, each with its own clientMsgId, so a resend after a
 * lost ack, a reconnect or a reload returns the original message instead of a second one.
 * A refusal the request itself caused ends `failed` (retry or discard it); anything the
 * server may answer differently later (rate limit, outage, lost connection) holds the queue
 * and tries again, so later messages never overtake earlier ones.
 */
export function createOutbox(deps: OutboxDeps) {
  const store = createStore<OutboxEntry[]>([]);
  let running = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let saving: Promise<void> = Promise.resolve();

  const update = (id: string, patch: Partial<OutboxEntry>) => {
    store.set((list) => list.map((e) => (e.clientMsgId === id ? { ...e, ...patch } : e)));
    persist();
  };

  function persist() {
    // What survives a reload: everything not yet stored by the server, in send order.
    const keep = store.get().flatMap((e) => (e.status === 'sent' ? [] : [e.status === 'sending' ? { ...e, status: 'pending' as const } : e]));
    saving = saving.then(() => deps.storage.set(deps.key, keep)).catch(deps.onError);
  }

  function retryLater(ms: number) {
    clearTimeout(timer);
    timer = setTimeout(flush, ms);
  }

  async function flush(): Promise<void> {
    if (running) return;
    running = true;
    try {
      for (;;) {
        const next = store.get().find((e) => e.status === 'pending');
        if (!next || !deps.connected()) return;
        update(next.clientMsgId, { status: 'sending' });
        try {
          const message = await deps.send(next);
          failures = 0;
          markSent(message);
        } catch (err) {
          // Seen stored meanwhile (in a sync, or from another device): nothing to redo.
          if (store.get().find((x) => x.clientMsgId === next.clientMsgId)?.status !== 'sending') continue;
          const e = err instanceof ParleyError ? err : new ParleyError({ code: 'network_error', message: String(err) });
          if (!RETRYABLE.has(e.code)) {
            update(next.clientMsgId, { status: 'failed', error: { code: e.code, message: e.message } });
            continue;
          }
          // Hold the queue (order), and come back: after retryAfter, or with backoff.
          update(next.clientMsgId, { status: 'pending' });
          if (e.code !== 'disconnected') retryLater(e.retryAfter ? e.retryAfter * 1000 : backoffDelay(failures++, { baseMs: 1000 }));
          return;
        }
      }
    } finally {
      running = false;
    }
  }

  /** The server has this message (an ack, or seen in a sync or on another device first). */
  function markSent(message: Message) {
    const entry = store.get().find((e) => e.clientMsgId === message.clientMsgId && e.conversationId === message.conversationId);
    if (entry && entry.status !== 'sent') {
      update(entry.clientMsgId, { status: 'sent', seq: message.seq, messageId: message.id, error: undefined });
      let extra = store.get().filter((e) => e.status === 'sent').length - KEEP_SENT;
      if (extra > 0) store.set((list) => list.filter((e) => e.status !== 'sent' || extra-- <= 0));
    }
  }

  return {
    store,
    /** Loads entries a previous run left (before this run's sends: they were sent earlier). */
    async load() {
      const saved = await deps.storage.get(deps.key);
      if (!Array.isArray(saved)) return;
      const here = new Set(store.get().map((e) => e.clientMsgId));
      store.set((list) => [...(saved as OutboxEntry[]).filter((e) => e && typeof e.clientMsgId === 'string' && !here.has(e.clientMsgId)), ...list]);
    },
    add(conversationId: string, input: SendInput): OutboxEntry {
      const { clientMsgId = uuid(), ...rest } = input;
      const entry: OutboxEntry = { ...rest, clientMsgId, conversationId, createdAt: new Date().toISOString(), status: 'pending' };
      store.set((list) => [...list, entry]);
      persist();
      void flush();
      return entry;
    },
    /** Sends a failed entry again, with the same clientMsgId. */
    retry(clientMsgId: string) {
      update(clientMsgId, { status: 'pending', error: undefined });
      void flush();
    },
    discard(clientMsgId: string) {
      store.set((list) => list.filter((e) => e.clientMsgId !== clientMsgId || e.status === 'sent'));
      persist();
    },
    flush,
    markSent,
    /** Resolves when everything written so far is in storage. */
    saved: () => saving,
    stop: () => clearTimeout(timer),
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
