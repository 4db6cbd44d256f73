import type { ConversationEvent, SyncResult } from '../../protocol/types.ts';
import { ParleyError } from './errors.ts';
import type { ClientStorage } from './storage.ts';

export type LogEvent = ConversationEvent;

/** Pages refused `rate_limited` that one sync waits out before giving up (until the next connect). */
const MAX_WAITS = 60;

interface SyncDeps {
  storage: ClientStorage;
  key: string;
  /** One page of `sync` over the live connection. */
  request(cursors: Record<string, number>): Promise<SyncResult>;
  apply(ev: LogEvent): void;
  /** Reloads a conversation too far behind; resolves with the seq to resume from (null: gone). */
  reset(conversationId: string): Promise<number | null>;
  /** A live event of a conversation with no cursor yet (just joined): take its current state instead of replaying its log. */
  unknown(conversationId: string): void;
  removed(conversationId: string): void;
  count(what: 'duplicateEvents' | 'gaps' | 'syncs' | 'resets'): void;
  onError(err: unknown): void;
}

/**
 * Gapless, duplicate-free conversation logs. Each conversation has a cursor, the last seq
 * applied, persisted. A live event is applied only when it is the next seq; one at or below
 * the cursor is a duplicate and dropped; one past it means something was missed, and a sync
 * fetches everything after the cursors, in order. A sync also runs on every connect.
 */
export function createSync(deps: SyncDeps) {
  let cursors: Record<string, number> = {};
  /** Seqs known applied out of band (our own sends, acked, are not echoed to us). */
  const ahead = new Map<string, Set<number>>();
  let running: Promise<void> | null = null;
  let again = false;
  let saveTimer: ReturnType<typeof setTimeout> | undefined;

  const save = () => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => void deps.storage.set(deps.key, cursors).catch(deps.onError), 200);
  };

  function advance(id: string, seq: number) {
    let at = seq;
    const known = ahead.get(id);
    while (known?.delete(at + 1)) at++;
    if (known) for (const s of known) if (s <= at) known.delete(s);
    cursors[id] = at;
    save();
  }

  /** Applies a log event if it is the next one; `fromSync`: the server's page, trusted as complete. */
  function receive(ev: LogEvent, fromSync = false): void {
    const cursor = cursors[ev.conversationId] ?? 0;
    if (cursors[ev.conversationId] === undefined && ev.seq > 1 && !fromSync) {
      deps.unknown(ev.conversationId);
    } else if (ev.seq <= cursor) {
      deps.count('duplicateEvents');
    } else if (ev.seq > cursor + 1 && !fromSync) {
      deps.count('gaps');
      // A failed sync (the connection dropped) is retried by the next connect's sync.
      run().catch(() => {});
    } else {
      deps.apply(ev);
      advance(ev.conversationId, ev.seq);
    }
  }

  /**
   * The next page. Each page costs the connection frames by its size, so a long catch-up of
   * large messages can outrun the budget: the server answers `rate_limited` with when to come
   * back, and the page is asked for again then, instead of leaving the client half synced.
   */
  async function nextPage(): Promise<SyncResult> {
    for (let waits = 0; ; waits++) {
      try {
        return await deps.request({ ...cursors });
      } catch (err) {
        if (!(err instanceof ParleyError) || err.code !== 'rate_limited' || waits >= MAX_WAITS) throw err;
        await new Promise((r) => setTimeout(r, (err.retryAfter ?? 1) * 1000));
      }
    }
  }

  async function once() {
    deps.count('syncs');
    for (;;) {
      const page = await nextPage();
      for (const id of page.removed) {
        delete cursors[id];
        deps.removed(id);
      }
      for (const ev of page.changes) receive(ev, true);
      for (const id of page.reset) {
        deps.count('resets');
        const seq = await deps.reset(id);
        if (seq === null) delete cursors[id];
        else cursors[id] = Math.max(seq, cursors[id] ?? 0);
      }
      save();
      if (!page.hasMore || !page.changes.length) return;
    }
  }

  /** Syncs until nothing is missing; a call while one runs makes it go round once more. */
  function run(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await once();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  }

  return {
    receive,
    run,
    async load() {
      const saved = await deps.storage.get(deps.key);
      if (saved && typeof saved === 'object') cursors = { ...(saved as Record<string, number>), ...cursors };
    },
    cursor: (id: string): number | undefined => cursors[id],
    /** A conversation whose state came from REST as of `seq`: start from there if it has no cursor. */
    seed(id: string, seq: number) {
      if (cursors[id] === undefined) advance(id, seq);
    },
    /** Our own change, acked with the seq it took (the server does not echo it to this connection). */
    own(id: string, seq: number) {
      const cursor = cursors[id] ?? 0;
      if (seq === cursor + 1) advance(id, seq);
      else if (seq > cursor) ahead.set(id, (ahead.get(id) ?? new Set()).add(seq));
    },
    drop(id: string) {
      delete cursors[id];
      ahead.delete(id);
      save();
    },
    stop: () => clearTimeout(saveTimer),
    /** Writes the cursors now (the client calls it before closing). */
    flush: () => {
      clearTimeout(saveTimer);
      return deps.storage.set(deps.key, cursors);
    },
  };
}

export type Sync = ReturnType<typeof createSync>;
