import { clip } from '../domain/text.ts';
import { randomUUID } from 'node:crypto';
import { stableUuid } from '../domain/ids.ts';
import { channelOn, withDefaults } from '../domain/notifications.ts';
import type { DevicePlatform, Notification } from '../domain/types.ts';
import type { ConnectedUsers } from '../realtime/presence-here.ts';
import { type JobSpec, QUEUES } from '../storage/job-queue.ts';
import type { NewMessage, OutboxItem, Repos } from '../storage/store.ts';
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
  /** Platforms with a push channel configured: a device on any other is never pushed to. */
  platforms: ReadonlySet<DevicePlatform>;
}

/** Who is in a conversation: the membership cache's entry when it has one, else read from the store. */
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
 * Pokes arriving within this long share one drain. A drain was then a transaction of several
 * round trips, and on PGlite's one connection every send waits while one is open (p50 5 ms,
 * p99 29 ms under load): at 25 ms there were about 30 drains a second at 20,000 deliveries/s. At 100 ms
 * embedded CPU per delivery went 51.4-52.4 -> 45.6-50.1 µs; a notification waits at most
 * 100 ms for its drain.
 */
const DRAIN_DELAY_MS = 100;
const snippet = (s: string) => clip(s, SNIPPET);
/** Thrown inside the claiming transaction to roll it back: another drain took the work first. */
const OVERTAKEN = Symbol('overtaken');

/**
 * Turns new messages (read from the log past the dispatcher's position) and the outbox (work
 * recorded with each reaction and group invite) into inbox entries and delivery jobs.
 * Taking the work, writing the entries and enqueueing the jobs is one transaction: a crash
 * anywhere leaves the work for the next drain, never half of it.
 *
 * Per recipient of a message: nothing for muted or archived conversations unless it
 * mentions them and they allow mentions there; a mention also lands in the inbox; a push
 * job is queued, for a user with a device, unless one for that (user, conversation) is
 * already waiting. Whether
 * anything is still unread is decided when that job runs (services/push.ts).
 */
export function notifyDispatcher(deps: ServiceDeps & { presence: ConnectedUsers; membership: Recipients }, opts: DispatchOptions) {
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

  /** Each conversation's members: the membership cache's entry where it has one, else read from the store. */
  async function membersOf(conversationIds: Iterable<string>): Promise<Map<string, ReadonlySet<string>>> {
    const members = new Map<string, ReadonlySet<string>>();
    for (const id of new Set(conversationIds)) members.set(id, deps.membership.cached(id) ?? new Set((await store.members.list(id)).map((m) => m.userId)));
    return members;
  }

  /** Messages as work items: recipients are the members (as this instance knows them) but the sender. */
  async function messageWork(messages: (NewMessage & { body: string | null })[]): Promise<OutboxItem[]> {
    const members = await membersOf(messages.map((m) => m.conversationId));
    return messages.map(
      (m): OutboxItem => ({
        kind: 'message',
        conversationId: m.conversationId,
        seq: m.seq,
        actorId: m.senderId,
        messageId: m.messageId,
        recipients: [...members.get(m.conversationId)!].filter((u) => u !== m.senderId),
        mentions: m.mentions,
        // Only mentions carry their text (for the inbox entry).
        data: m.body === null ? {} : { body: m.body },
        createdAt: m.createdAt,
      }),
    );
  }

  /**
   * Under load nearly every drain finds only plain messages to members reading live: nothing
   * to do but move the position. That case takes one read and one compare-and-set, and no
   * transaction. On PGlite's one connection a transaction holds every send back while its
   * round trips wait on the busy main thread: 10-16 ms, about 9 times a second at 20,000
   * deliveries/s. Null when there may be work (an offline recipient, a mention, the outbox),
   * which drainOnce's full pass does.
   */
  async function livePass(): Promise<boolean | null> {
    if (opts.pushWhen === 'always') return null;
    const peek = await store.notifyWork.peekMessages(opts.messageBatch);
    if (!peek || peek.outbox || peek.mentions) return null;
    if (peek.count === 0) return false;
    const members = await membersOf(peek.senders.map((s) => s.conversationId));
    // Everyone a message was for: its conversation's members but its sender, repeats and all
    // (a Set of them and one of those online were 1.8% of the server's thread under load).
    const recipients: string[] = [];
    for (const s of peek.senders) for (const userId of members.get(s.conversationId)!) if (userId !== s.senderId) recipients.push(userId);
    if (!(await deps.presence.allConnected(recipients))) return null;
    // Not moved: another drain took these messages first; look again from where it got to.
    return (await store.notifyWork.advanceMessages(peek.pos, peek.lastPos)) ? peek.more : true;
  }

  /**
   * One pass over the work; answers whether more may be waiting. Everything is read and
   * decided outside any transaction; the transaction only claims the work (moves the
   * position, deletes the outbox rows) and writes what it made, so it is BEGIN, at most four
   * statements and COMMIT. On PGlite's one connection every send waits while a transaction is
   * open, and when it read inside, a drain for members who were offline held it for about
   * ten round trips. A drain that loses the claim to another rolls back and reads again.
   */
  async function drainOnce(): Promise<boolean> {
    const live = await livePass();
    if (live !== null) return live;
    const at = now();
    const read = await store.notifyWork.readWork(opts.messageBatch, opts.batch);
    if (!read) return false;
    const work = [...(await messageWork(read.messages)), ...read.outbox];
    const position = read.messages.length ? { from: read.pos, to: read.lastPos } : null;
    const outboxIds = read.outbox.map((o) => o.id);
    const { inbox, jobs } = await decide(work, at);
    const claim = (q: Repos) => q.notifyWork.claimWork(position, outboxIds);
    if (inbox.length === 0 && jobs.length === 0 && outboxIds.length === 0) {
      // Only the position to move: one statement needs no transaction.
      if (position && !(await claim(store))) return true;
      return read.more;
    }
    // Null when another drain took some of this work first (the throw rolls the claim back).
    const created = await store.transaction(async (tx) => {
      if (!(await claim(tx))) throw OVERTAKEN;
      const inserted = await tx.notifications.insertMany(inbox, null);
      await tx.jobs.enqueue(jobs);
      return inserted;
    }).catch((err: unknown) => {
      if (err === OVERTAKEN) return null;
      throw err;
    });
    if (!created) return true;
    for (const n of created) await announceTo(deps, n.userId, n);
    // A conversation's push waits out the coalescing delay: only a push due now is worth
    // waking the workers for (they poll anyway). Waking them after every drain under load
    // was two job fetches per send batch, for nothing.
    const due = jobs.filter((j) => !j.delayMs).length;
    if (due) store.jobs.wake(QUEUES.push, due);
    return read.more;
  }

  /** What the work makes: inbox entries and push jobs, read through the store (outside any transaction). */
  async function decide(work: OutboxItem[], at: Date): Promise<{ inbox: Omit<Notification, 'readAt' | 'expiresAt'>[]; jobs: JobSpec[] }> {
    const inbox: Omit<Notification, 'readAt' | 'expiresAt'>[] = [];
    if (work.length === 0) return { inbox, jobs: [] };
    // A plain message owes a recipient a push and nothing else, so only offline users with a
    // device keep it (and anyone it mentions): the others are dropped before the reads below.
    // Under load most recipients read live; in a real app many offline members are web or
    // email only, or have devices on a platform this server has no channel for, and a push
    // job queued for them found nothing to send, after an insert, a fetch, three reads and a
    // completion (the read counting every message since their last read or push, since none
    // was sent to move it).
    const everyone = [...new Set(work.flatMap((w) => w.recipients))];
    const online = opts.pushWhen === 'always' ? new Set<string>() : await deps.presence.connected(everyone);
    /** Offline users with a device a configured channel serves: the ones a push can reach. */
    const devices = await store.devices.owners(everyone.filter((u) => !online.has(u)), opts.platforms);
    for (const w of work) if (w.kind === 'message') w.recipients = w.recipients.filter((u) => devices.has(u) || w.mentions.includes(u));
    const userIds = [...new Set(work.flatMap((w) => w.recipients))];
    if (userIds.length === 0) return { inbox, jobs: [] };
    // Each (conversation, recipient) once: a drain holds many messages of one conversation.
    const pairs = new Map<string, { conversationId: string; userId: string }>();
    for (const w of work) for (const userId of w.recipients) pairs.set(`${w.conversationId}\n${userId}`, { conversationId: w.conversationId, userId });
    const states = await store.notifyWork.memberStates([...pairs.values()]);
    const stored = await store.notifications.preferences(userIds);
    const prefsOf = (u: string) => withDefaults(stored.get(u));
    const names = await store.notifyWork.userNames([...new Set(work.map((w) => w.actorId))]);
    const titles = await store.notifyWork.conversationTitles([...new Set(work.filter((w) => w.kind === 'group_invite').map((w) => w.conversationId))]);
    const jobs = new Map<string, JobSpec>();
    const push = (spec: JobSpec) => jobs.set(spec.singletonKey ?? spec.id ?? randomUUID(), spec);

    for (const w of work) {
      const actorName = names.get(w.actorId) ?? w.actorId;
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
          if (wanted && devices.has(userId)) push(conversationPush(userId, w.conversationId));
        } else {
          if (quiet) continue;
          const groupTitle = titles.get(w.conversationId) ?? 'a group';
          const entry =
            w.kind === 'reaction'
              ? { ...base, type: 'reaction' as const, title: `${actorName} reacted ${String(w.data.emoji ?? '')}`, body: snippet(String(w.data.body ?? '')), data: { ...data, emoji: w.data.emoji } }
              : { ...base, type: 'group_invite' as const, title: `${actorName} added you to ${groupTitle}`, body: snippet(groupTitle), data: { conversationId: w.conversationId, actorId: w.actorId } };
          const inApp = channelOn(prefs, entry.type, 'inApp');
          if (inApp) inbox.push(entry);
          if (channelOn(prefs, entry.type, 'push') && devices.has(userId)) {
            const job: PushJob = { kind: 'notification', userId, notificationId: inApp ? entry.id : null, type: entry.type, priority: 'normal', title: entry.title, body: entry.body, data: entry.data };
            push({ queue: QUEUES.push, id: stableUuid(`push:${w.kind}:${w.conversationId}:${w.seq}:${w.messageId}:${userId}`), data: job });
          }
        }
      }
    }
    return { inbox, jobs: await withoutWaiting([...jobs.values()]) };
  }

  /**
   * Drops conversation pushes that find their (user, conversation) push already waiting out
   * the coalescing window. Enqueueing one would be dropped anyway, but only after the insert
   * checked it against the waiting one: under load, a drain re-enqueued the push of every
   * offline recipient of every active conversation, several times a second. Skipping is safe:
   * the messages are committed before this reads, and a push still waiting now reads what is
   * unseen when it starts, later, so it covers them.
   */
  async function withoutWaiting(jobs: JobSpec[]): Promise<JobSpec[]> {
    const keys = jobs.flatMap((j) => (j.queue === QUEUES.push && j.singletonKey ? [j.singletonKey] : []));
    const waiting = await store.jobs.waiting(QUEUES.push, keys);
    return waiting.size ? jobs.filter((j) => !(j.singletonKey && waiting.has(j.singletonKey))) : jobs;
  }

  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  /** Told if the drain nudged for fails (see nudge). */
  let nudgedBy: ((err: unknown) => void) | null = null;
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

  /** Runs the drain the timer was waiting for; a failure goes to whoever nudged for it. */
  function fire(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const report = nudgedBy;
    nudgedBy = null;
    const done = drainAll();
    done.catch((err: unknown) => report?.(err));
    return done;
  }

  /**
   * Drains soon: nudges within DRAIN_DELAY_MS share one drain, so under load one
   * transaction handles many messages instead of one each. The delivery worker nudges once
   * per message sent, so this makes no promise of its own (a promise and a waiter per
   * message were a fiftieth of the server's allocations under load); a failed drain goes to
   * `onError`.
   */
  function nudge(onError: (err: unknown) => void): void {
    nudgedBy = onError;
    timer ??= setTimeout(fire, DRAIN_DELAY_MS);
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

  return { nudge, flush, stop, drainOnce };
}

export type NotifyDispatcher = ReturnType<typeof notifyDispatcher>;
export type { OutboxItem };
