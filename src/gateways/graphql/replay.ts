import type { ConversationEvent } from '../../domain/types.ts';
import { notFound } from '../../errors.ts';
import type { Services } from '../../services/index.ts';
import type { GraphqlContext } from './context.ts';
import type { Feed } from './live.ts';

/** One change of a conversation's log, as sync replays it and the bus carries it live. */
export type LogChange = Pick<ConversationEvent, 'type' | 'conversationId' | 'seq' | 'data'>;
export type LogItem = { kind: 'change'; change: LogChange } | { kind: 'reset'; conversationId: string; lastSeq: number };

type SyncResult = Awaited<ReturnType<Services['sync']['sync']>>;

/** Changes read from the log per sync call. */
const PAGE = 200;
/** Live changes buffered per subscription while it replays or its client is slow; past this it rereads the log. */
const LIVE_BUFFER = 1000;

const LOG_EVENTS = new Set<string>([
  'message:new',
  'message:updated',
  'message:deleted',
  'reaction:updated',
  'member:joined',
  'member:updated',
  'member:left',
  'conversation:updated',
]);

const removes = (change: LogChange, userId: string): boolean => change.type === 'member:left' && (change.data as { userId: string }).userId === userId;

/**
 * Opens a recovering follow of one conversation's log: every change after `since` from
 * the log (through the sync service, so membership and PARLEY_SYNC_LIMIT apply exactly as
 * for `sync`), then live changes from the hub, in seq order. The live feed opens before
 * the log is read, so nothing committed in between is missed; a live change at or below
 * the position is a duplicate and skipped; one past the next seq (a lost event, or one a
 * full feed dropped) sends it back to the log, which holds every change committed before
 * one was published. Without `since` it starts at the conversation's current position.
 * Refuses (not_found) a conversation the caller is not in; ends after the caller's own
 * removal.
 */
export async function followLog<T>(
  ctx: GraphqlContext,
  conversationId: string,
  since: number | null,
  /**
   * What the subscription yields for each item, or undefined for none: applied here rather
   * than by a generator of the subscription's own over these items, which was one more
   * async hop and its garbage for every subscriber of every live change (issue 9).
   */
  view: (item: LogItem) => T | undefined | Promise<T | undefined>,
): Promise<{ feed: Feed<LogChange>; items: AsyncGenerator<T> }> {
  const live = ctx.requireLive();
  const feed = live.open<LogChange>(
    (event, data) => {
      if (!LOG_EVENTS.has(event)) return undefined;
      const d = data as { conversationId: string; seq: number };
      return d.conversationId === conversationId ? ({ type: event, conversationId, seq: d.seq, data } as LogChange) : undefined;
    },
    { max: LIVE_BUFFER, conversationId, endsOnRemoval: false },
  );
  const { actor, services } = ctx;
  // Each page read is paid for like a frame, as a sync page is on the other gateways: a
  // client resubscribing from an old `since` over and over runs out of budget.
  const page = (cursor: number): Promise<SyncResult> => {
    live.charge(1);
    return services.sync.sync(actor, { [conversationId]: cursor }, PAGE, conversationId);
  };
  try {
    if (since === null) {
      const { lastSeq } = await services.conversations.get(actor, conversationId);
      return { feed, items: follow(lastSeq, null) };
    }
    const first = await page(since);
    if (first.removed.length) throw notFound('Conversation not found');
    return { feed, items: follow(since, first) };
  } catch (err) {
    feed.end();
    throw err;
  }

  async function* follow(start: number, first: SyncResult | null): AsyncGenerator<T> {
    let cursor = start;
    let pending = first;
    for (;;) {
      // From the log until caught up.
      for (;;) {
        const result = pending ?? (await page(cursor));
        pending = null;
        if (result.removed.length) return;
        if (result.reset.length) {
          const { lastSeq } = await services.conversations.get(actor, conversationId);
          let out = view({ kind: 'reset', conversationId, lastSeq });
          if (out instanceof Promise) out = await out;
          if (out !== undefined) yield out;
          cursor = lastSeq;
          continue;
        }
        for (const change of result.changes) {
          let out = view({ kind: 'change', change });
          if (out instanceof Promise) out = await out;
          if (out !== undefined) yield out;
          cursor = change.seq;
          if (removes(change, actor.userId)) return;
        }
        if (!result.hasMore) break;
      }
      // Live, until a gap (a lost event, or one the full feed dropped) sends it back to the log.
      for (;;) {
        const next = await feed.next();
        if (next.done) return;
        const change = next.value;
        if (change.seq <= cursor) continue;
        if (change.seq > cursor + 1) break;
        // Awaited only when it is a promise: a live message's view is not (one hop fewer).
        let out = view({ kind: 'change', change });
        if (out instanceof Promise) out = await out;
        if (out !== undefined) yield out;
        cursor = change.seq;
        if (removes(change, actor.userId)) return;
      }
    }
  }
}
