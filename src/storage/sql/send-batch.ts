import type { Message } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { SendOutcome } from '../store.ts';

type Row = { outcome: string; out_seq: number | null; out_id: string | null };

const toOutcome = (r: Row): SendOutcome => {
  if (r.outcome === 'created') return { outcome: 'created', seq: Number(r.out_seq) };
  if (r.outcome === 'duplicate') return { outcome: 'duplicate', messageId: r.out_id! };
  return { outcome: r.outcome as 'not_member' | 'invalid_mention' | 'invalid_reply' };
};

/**
 * Sends several messages in one statement, hence one transaction and one commit (one WAL
 * flush on PostgreSQL). Rows are sorted by conversation so that every batch takes its
 * conversation locks in the same order: concurrent batches cannot deadlock.
 */
export async function sendMany(q: Queryable, messages: Message[]): Promise<SendOutcome[]> {
  const order = messages.map((m, i) => ({ m, i })).sort((a, b) => (a.m.conversationId < b.m.conversationId ? -1 : a.m.conversationId > b.m.conversationId ? 1 : a.i - b.i));
  const col = <T>(f: (m: Message) => T) => order.map(({ m }) => f(m));
  const rows = await q.query<Row & { ord: number }>(
    `SELECT r.outcome, r.out_seq, r.out_id, t.ord
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::uuid[], $8::text[], $9::timestamptz[], $10::text[])
       WITH ORDINALITY AS t(conv, sender, cmid, id, body, attachments, reply_to, mentions, at, message, ord)
     CROSS JOIN LATERAL parley_send_message(t.conv, t.sender, t.cmid, t.id, t.body, t.attachments::jsonb, t.reply_to,
       ARRAY(SELECT jsonb_array_elements_text(t.mentions::jsonb)), t.at, t.message::jsonb) r
     ORDER BY t.ord`,
    [
      col((m) => m.conversationId),
      col((m) => m.senderId),
      col((m) => m.clientMsgId),
      col((m) => m.id),
      col((m) => m.body),
      col((m) => JSON.stringify(m.attachments)),
      col((m) => m.replyTo),
      col((m) => JSON.stringify(m.mentions)),
      col((m) => m.createdAt),
      col((m) => JSON.stringify(m)),
    ],
  );
  const outcomes: SendOutcome[] = new Array(messages.length);
  rows.forEach((r, k) => {
    outcomes[order[k]!.i] = toOutcome(r);
  });
  return outcomes;
}

/**
 * Group commit for sends: calls arriving while `concurrency` batches are in flight wait and
 * go together in the next one. Idle, a send goes alone at once (no added latency); under
 * load, many sends share a transaction. A batch that fails is retried one send at a time,
 * so one bad send cannot fail the others.
 */
export function createSendBatcher(q: Queryable, opts: { concurrency: number; maxBatch: number }) {
  const queue: { message: Message; resolve: (o: SendOutcome) => void; reject: (e: unknown) => void }[] = [];
  let running = 0;

  async function pump() {
    running++;
    try {
      while (queue.length) {
        const batch = queue.splice(0, opts.maxBatch);
        try {
          const outcomes = await sendMany(q, batch.map((b) => b.message));
          for (const [k, b] of batch.entries()) b.resolve(outcomes[k]!);
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else for (const b of batch) await sendMany(q, [b.message]).then(([o]) => b.resolve(o!), b.reject);
        }
      }
    } finally {
      running--;
    }
  }

  return (message: Message): Promise<SendOutcome> =>
    new Promise((resolve, reject) => {
      queue.push({ message, resolve, reject });
      if (running < opts.concurrency) void pump();
    });
}
