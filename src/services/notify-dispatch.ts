import { clip } from '../domain/text.ts';
import { randomUUID } from 'node:crypto';
import { stableUuid } from '../domain/ids.ts';
import { channelOn, withDefaults } from '../domain/notifications.ts';
import type { Notification } from '../domain/types.ts';
import type { PresenceStore } from '../realtime/presence.ts';
import { type JobSpec, QUEUES } from '../storage/job-queue.ts';
import type { OutboxItem, Repos } from '../storage/store.ts';
import type { ServiceDeps } from './deps.ts';
import { announceTo } from './notifications.ts';
import { conversationPushKey, type PushJob } from './push.ts';

export interface DispatchOptions {
  /** Push only to users with no live connection, or always. */
  pushWhen: 'offline' | 'always';
  /** A conversation's messages within this long of the first unpushed one make one push. */
  coalesceMs: number;
  /** Outbox rows taken per transaction. */
  batch: number;
  /** New messages taken per transaction. */
  messageBatch: number;
}

/** Who is in a conversation: the membership cache's entry when it has one, else read in `tx`. */
export interface Recipients {
  cached(conversationId: string): ReadonlySet<string> | undefined;
}

/** The outbox row telling `userIds` they were added to a group (by `actorId`). */
export const groupInvite = (conversationId: string, seq: number, actorId: string, userIds: string[], at: Date): OutboxItem => ({
  kind: 'group_invite',
  conversationId,
  seq,
  actorId,
  messageId: null,
  recipients: userIds,
  mentions: [],
  data: {},
  createdAt: at.toISOString(),
});

const SNIPPET = 140;
/**
 * Pokes arriving within this long share one drain. A drain is a transaction of several round
 * trips, and on PGlite's one connection every send waits while it is open (p50 5 ms, p99 29 ms
 * under load): at 25 ms there were about 30 drains a second at 20,000 deliveries/s. At 100 ms
 * embedded CPU per delivery went 51.4-52.4 -> 45.6-50.1 µs; a notification waits at most
 * 100 ms for its drain.
 */
const DRAIN_DELAY_MS = 100;
const snippet = (s: string) => clip(s, SNIPPET);

/**
 * Turns new messages (read from the log past the dispatcher's position) and the outbox (work
 * recorded with each reaction and group invite) into inbox entries and delivery jobs.
 * Taking the work, writing the entries and enqueueing the jobs is one transaction: a crash
 * anywhere leaves the work for the next drain, never half of it.
 *
 * Per recipient of a message: nothing for muted or archived conversations unless it
 * mentions them and they allow mentions there; a mention also lands in the inbox; a push
 * job is queued unless one for that (user, conversation) is already waiting. Whether
 * anything is still unread is decided when that job runs (services/push.ts).
 */
export function notifyDispatcher(deps: ServiceDeps & { presence: PresenceStore; membership: Recipients }, opts: DispatchOptions) {
  const { store, now } = deps;

  /**
   * One waiting push per (user, conversation), due `coalesceMs` after the first message it
   * covers: later messages find it waiting and add nothing, so a burst is one push.
   */
  function conversationPush(userId: string, conversationId: string): JobSpec {
    const data: PushJob = { kind: 'conversation', userId, conversationId };
    return {
      queue: QUEUES.push,
      singletonKey: conversationPushKey(userId, conversationId),
      delayMs: opts.coalesceMs,
      data: data,
    };
  }

  /** Each conversation's members: the membership cache's entry where it has one, else read through `q`. */
  async function membersOf(conversationIds: Iterable<string>, q: Repos): Promise<Map<string, ReadonlySet<string>>> {
    const members = new Map<string, ReadonlySet<string>>();
    for (const id of new Set(conversationIds)) members.set(id, deps.membership.cached(id) ?? new Set((await q.members.list(id)).map((m) => m.userId)));
    return members;
  }

  /** Messages as work items: recipients are the members (as this instance knows them) but the sender. */
  async function messageWork(tx: Repos): Promise<{ work: OutboxItem[]; more: boolean }> {
    const taken = await tx.notifyWork.takeMessages(opts.messageBatch);
    if (!taken) return { work: [], more: false };
    const members = await membersOf(taken.messages.map((m) => m.conversationId), tx);
    const work = taken.messages.map(
      (m): OutboxItem => ({
        kind: 'message',
        conversationId: m.conversationId,
        seq: m.seq,
        actorId: m.senderId,
        messageId: m.messageId,
        recipients: [...members.get(m.conversationId)!].filter((u) => u !== m.senderId),
        mentions: m.mentions,
        data: {},
        createdAt: m.createdAt,
      }),
    );
    return { work, more: taken.more };
  }

  /**
   * Under load nearly every drain finds only plain messages to members reading live: nothing
   * to do but move the position. That case takes one read and one compare-and-set, and no
   * transaction. On PGlite's one connection a transaction holds every send back while its
   * round trips wait on the busy main thread: 10-16 ms, about 9 times a second at 20,000
   * deliveries/s. Null when there may be work (an offline recipient, a mention, the outbox),
   * which the transaction does.
   */
  async function livePass(): Promise<boolean | null> {
    if (opts.pushWhen === 'always') return null;
    const peek = await store.notifyWork.peekMessages(opts.messageBatch);
    if (!peek || peek.outbox || peek.mentions) return null;
    if (peek.count === 0) return false;
    const members = await membersOf(peek.senders.map((s) => s.conversationId), store);
    const online = await deps.presence.connected([...new Set([...members.values()].flatMap((set) => [...set]))]);
    for (const s of peek.senders) for (const userId of members.get(s.conversationId)!) if (userId !== s.senderId && !online.has(userId)) return null;
    // Not moved: another drain took these messages first; look again from where it got to.
    return (await store.notifyWork.advanceMessages(peek.pos, peek.lastPos)) ? peek.more : true;
  }

  /** One pass over the work; answers whether more may be waiting. */
  async function drainOnce(): Promise<boolean> {
    const live = await livePass();
    if (live !== null) return live;
    const at = now();
    const { more, due, created } = await store.transaction(async (tx) => {
      const outbox = await tx.notifyWork.takeOutbox(opts.batch);
      const messages = await messageWork(tx);
      const work = [...messages.work, ...outbox];
      const more = messages.more || outbox.length === opts.batch;
      if (work.length === 0) return { more, due: false, created: [] as Notification[] };
      // Recipients reading live need nothing for a plain message (the common case under
      // load): drop them before any other query.
      const everyone = [...new Set(work.flatMap((w) => w.recipients))];
      const online = opts.pushWhen === 'always' ? new Set<string>() : await deps.presence.connected(everyone);
      for (const w of work) if (w.kind === 'message') w.recipients = w.recipients.filter((u) => !online.has(u) || w.mentions.includes(u));
      const userIds = [...new Set(work.flatMap((w) => w.recipients))];
      if (userIds.length === 0) return { more, due: false, created: [] as Notification[] };
      const pairs = work.flatMap((w) => w.recipients.map((userId) => ({ conversationId: w.conversationId, userId })));
      const states = await tx.notifyWork.memberStates(pairs);
      const stored = await tx.notifications.preferences(userIds);
      const prefsOf = (u: string) => withDefaults(stored.get(u));
      const names = await tx.notifyWork.userNames([...new Set(work.map((w) => w.actorId))]);
      const titles = await tx.notifyWork.conversationTitles([...new Set(work.filter((w) => w.kind === 'group_invite').map((w) => w.conversationId))]);
      const inbox: Omit<Notification, 'readAt' | 'expiresAt'>[] = [];
      const jobs = new Map<string, JobSpec>();
      const push = (spec: JobSpec) => jobs.set(spec.singletonKey ?? spec.id ?? randomUUID(), spec);

      for (const w of work) {
        const actorName = names.get(w.actorId) ?? w.actorId;
        // Only mentions need the text (for the inbox entry); they are rare enough to read one by one.
        if (w.kind === 'message' && w.mentions.length && w.messageId) w.data.body = (await tx.messages.get(w.messageId))?.body ?? '';
        for (const userId of w.recipients) {
          const state = states.get(`${w.conversationId}\n${userId}`);
          if (!state) continue; // left the conversation since
          // Joined after it (markers start at the join), or read it already.
          if (w.kind === 'message' && state.readSeq >= w.seq) continue;
          const prefs = prefsOf(userId);
          const quiet = state.archived || (state.mutedUntil !== null && Date.parse(state.mutedUntil) > at.getTime());
          const base = { id: randomUUID(), userId, priority: 'normal' as const, actionUrl: null, createdAt: at.toISOString() };
          const data = { conversationId: w.conversationId, seq: w.seq, messageId: w.messageId, actorId: w.actorId };
          if (w.kind === 'message') {
            const mentioned = w.mentions.includes(userId);
            if (quiet && !(mentioned && prefs.mentionsInMuted)) continue;
            if (mentioned && channelOn(prefs, 'mention', 'inApp')) {
              inbox.push({ ...base, type: 'mention', title: `${actorName} mentioned you`, body: snippet(String(w.data.body ?? '')), data });
            }
            const wanted = mentioned ? channelOn(prefs, 'mention', 'push') || channelOn(prefs, 'message', 'push') : channelOn(prefs, 'message', 'push');
            if (wanted && !online.has(userId)) push(conversationPush(userId, w.conversationId));
          } else {
            if (quiet) continue;
            const groupTitle = titles.get(w.conversationId) ?? 'a group';
            const entry =
              w.kind === 'reaction'
                ? { ...base, type: 'reaction' as const, title: `${actorName} reacted ${String(w.data.emoji ?? '')}`, body: snippet(String(w.data.body ?? '')), data: { ...data, emoji: w.data.emoji } }
                : { ...base, type: 'group_invite' as const, title: `${actorName} added you to ${groupTitle}`, body: snippet(groupTitle), data: { conversationId: w.conversationId, actorId: w.actorId } };
            const inApp = channelOn(prefs, entry.type, 'inApp');
            if (inApp) inbox.push(entry);
            if (channelOn(prefs, entry.type, 'push') && !online.has(userId)) {
              const job: PushJob = { kind: 'notification', userId, notificationId: inApp ? entry.id : null, type: entry.type, priority: 'normal', title: entry.title, body: entry.body, data: entry.data };
              push({ queue: QUEUES.push, id: stableUuid(`push:${w.kind}:${w.conversationId}:${w.seq}:${w.messageId}:${userId}`), data: job });
            }
          }
        }
      }
      const created = await tx.notifications.insertMany(inbox, null);
      await tx.jobs.enqueue([...jobs.values()]);
      // A conversation's push waits out the coalescing delay: only a push due now is worth
      // waking the workers for (they poll anyway). Waking them after every drain under load
      // was two job fetches per send batch, for nothing.
      return { more, due: [...jobs.values()].some((j) => !j.delayMs), created };
    });
    for (const n of created) await announceTo(deps, n.userId, n);
    if (due) store.jobs.wake(QUEUES.push);
    return more;
  }

  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Once stopping, no transaction starts after this instant (ms since epoch). */
  let stopBy = Number.POSITIVE_INFINITY;
  const mayStart = () => Date.now() < stopBy;

  async function drainAll(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          while (mayStart() && (await drainOnce())) {}
        } while (again && mayStart());
      } finally {
        running = null;
      }
    })();
    return running;
  }

  /** Runs the drain the timer was waiting for, settling everyone who poked. */
  function fire(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const settled = waiters;
    waiters = [];
    const done = drainAll();
    done.then(
      () => {
        for (const w of settled) w.resolve();
      },
      (err) => {
        for (const w of settled) w.reject(err);
      },
    );
    return done;
  }

  /**
   * Drains soon: pokes within DRAIN_DELAY_MS share one drain, so under load one
   * transaction handles many messages instead of one each.
   */
  function poke(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    timer ??= setTimeout(fire, DRAIN_DELAY_MS);
    return p;
  }

  /** Drains now, and waits for it (tests). */
  const flush = (): Promise<void> => fire();

  /**
   * Shutdown: drains for up to `graceMs` more, then lets the transaction under way commit and
   * starts none. "Until nothing is left" would not end while other instances keep sending
   * (the log is shared); what is left is durable, and the other instances' sweeps or the next
   * start take it.
   */
  async function stop(graceMs: number): Promise<void> {
    stopBy = Date.now() + graceMs;
    await fire().catch(() => {});
  }

  return { poke, flush, stop, drainOnce };
}

export type NotifyDispatcher = ReturnType<typeof notifyDispatcher>;
export type { OutboxItem };
