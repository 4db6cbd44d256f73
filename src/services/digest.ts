import { preferencesOf } from './notifications.ts';
import { stableUuid } from '../domain/ids.ts';
import { channelOn, isHeld } from '../domain/notifications.ts';
import type { NotificationPreferences } from '../domain/types.ts';
import type { ConnectedUsers } from '../realtime/presence-here.ts';
import { QUEUES } from '../storage/job-queue.ts';
import type { DigestConversationRow } from '../storage/store.ts';
import type { ServiceDeps } from './deps.ts';

/** What one digest email says; rendered to HTML and text by the email worker. */
export interface DigestData {
  recipientName: string | null;
  conversations: {
    id: string;
    title: string;
    unread: number;
    url: string | null;
    messages: { senderName: string; body: string; createdAt: string; mentioned: boolean }[];
  }[];
  totalUnread: number;
  timeZone: string;
}

/** A digest waiting in the `parley.email` queue. */
export interface EmailJob {
  userId: string;
  to: string;
  digest: DigestData;
}

const SHOWN_PER_CONVERSATION = 3;
const PAGE = 100;

/**
 * Email digests of unread messages. A run looks at every user with an address and
 * something neither read nor emailed; for those offline and not in quiet hours it marks
 * those messages emailed and enqueues the email in one transaction, so a message is never
 * in two digests. Nothing unread, nothing sent. Users in quiet hours are simply looked at
 * again next run: held, never dropped.
 */
export function digestService(deps: ServiceDeps & { presence: ConnectedUsers }, opts: { appUrl: string | null }) {
  const { store, now } = deps;

  function include(r: DigestConversationRow, prefs: NotificationPreferences, at: Date): 'all' | 'mentions' | null {
    const quiet = r.archived || (r.mutedUntil !== null && Date.parse(r.mutedUntil) > at.getTime());
    const mentions = r.mentions > 0 && channelOn(prefs, 'mention', 'email');
    if (quiet) return mentions && prefs.mentionsInMuted ? 'mentions' : null;
    if (channelOn(prefs, 'message', 'email')) return 'all';
    return mentions ? 'mentions' : null;
  }

  async function forUser(userId: string, to: string, at: Date): Promise<boolean> {
    const prefs = await preferencesOf(deps, userId);
    if (isHeld(prefs, 'normal', at)) return false;
    const rows = await store.notifyWork.digestFor(userId, SHOWN_PER_CONVERSATION);
    const positions = rows.map((r) => ({ conversationId: r.conversationId, seq: r.lastSeq }));
    const conversations: DigestData['conversations'] = [];
    for (const r of rows) {
      const what = include(r, prefs, at);
      if (!what) continue;
      const shown = what === 'all' ? r.messages : r.messages.filter((m) => m.mentioned);
      const first = r.messages[0];
      conversations.push({
        id: r.conversationId,
        title: r.title ?? (r.kind === 'direct' && first ? (first.senderName ?? first.senderId) : 'Group'),
        unread: what === 'all' ? r.total : r.mentions,
        url: opts.appUrl ? `${opts.appUrl}/c/${r.conversationId}` : null,
        messages: shown.map((m) => ({ senderName: m.senderName ?? m.senderId, body: m.body, createdAt: m.createdAt, mentioned: m.mentioned })),
      });
    }
    const user = conversations.length ? await store.users.get(userId) : null;
    const job: EmailJob | null = conversations.length
      ? {
          userId,
          to,
          digest: { recipientName: user?.name ?? null, conversations, totalUnread: conversations.reduce((n, c) => n + c.unread, 0), timeZone: prefs.quietHours.timeZone },
        }
      : null;
    // Positions move even when nothing is sent (muted, email off): those messages are settled, not rescanned every run.
    return store.transaction(async (tx) => {
      // Nothing moved: a concurrent run took these messages; it sends them.
      if ((await tx.notifyWork.markEmailed(userId, positions)) === 0) return false;
      if (job) {
        const key = positions.map((p) => `${p.conversationId}:${p.seq}`).join(',');
        await tx.jobs.enqueue([{ queue: QUEUES.email, id: stableUuid(`digest:${userId}:${key}`), data: job }]);
      }
      return job !== null;
    });
  }

  return {
    /** One digest run over every candidate; answers how many emails it enqueued. */
    async run(): Promise<{ emails: number }> {
      const at = now();
      let after = '';
      let emails = 0;
      for (;;) {
        const page = await store.notifyWork.digestCandidates(after, PAGE);
        const online = await deps.presence.connected(page.map((c) => c.userId));
        for (const c of page) if (!online.has(c.userId) && (await forUser(c.userId, c.email, at))) emails++;
        if (page.length < PAGE) break;
        after = page.at(-1)!.userId;
      }
      if (emails) store.jobs.wake(QUEUES.email, emails);
      return { emails };
    },
  };
}

export type DigestService = ReturnType<typeof digestService>;
