import type { Message } from '../../domain/types.ts';
import type { Queryable } from '../db.ts';
import type { SendBatchObservation, SendOutcome } from '../store.ts';
import { SEND_BATCH_SQL, type SendBatchSql } from './send-batch-statements.ts';

/** The main statement's columns, in order: ord, outcome, out_seq, out_id. */
type Row = [ord: number, outcome: string, seq: number | null, id: string | null];

const toOutcome = ([, outcome, seq, id]: Row): SendOutcome => {
  if (outcome === 'created') return { outcome: 'created', seq: Number(seq) };
  if (outcome === 'duplicate') return { outcome: 'duplicate', messageId: id! };
  return { outcome: outcome as 'not_member' | 'invalid_mention' | 'invalid_reply' };
};

/** Where a send repeats the idempotency key of an earlier one in the list (its length if none does). */
function firstRepeatedKey(messages: Message[]): number {
  const keys = new Set<string>();
  for (const [k, m] of messages.entries()) {
    const key = `${m.conversationId}\n${m.senderId}\n${m.clientMsgId}`;
    if (keys.has(key)) return k;
    keys.add(key);
  }
  return messages.length;
}

/** The batch's parameters: one array per column, by send (send-batch-statements.ts). */
export function sendBatchParams(messages: Message[]): unknown[] {
  const col = <T>(f: (m: Message) => T) => messages.map(f);
  return [
    col((m) => m.conversationId),
    col((m) => m.senderId),
    col((m) => m.clientMsgId),
    col((m) => m.id),
    col((m) => m.body),
    col((m) => (m.attachments.length ? JSON.stringify(m.attachments) : '[]')),
    col((m) => m.replyTo),
    col((m) => (m.mentions.length ? JSON.stringify(m.mentions) : '[]')),
    col((m) => m.createdAt),
  ];
}

/**
 * Sends several messages in one transaction and one commit (one WAL flush on PostgreSQL):
 * the statements of send-batch-statements.ts, as one pipeline. Sends of one conversation
 * take consecutive seqs in the order given. A retry of a key already in the list goes in a
 * batch after it, where it meets its original as a duplicate (or is created, if the original
 * was refused): the batch matches keys only against stored messages. `sql` is the batch's
 * text (the bench prices its parts by rewriting it).
 */
export async function sendMany(q: Queryable, messages: Message[], sql: SendBatchSql = SEND_BATCH_SQL): Promise<SendOutcome[]> {
  const cut = firstRepeatedKey(messages);
  if (cut < messages.length) return [...(await sendMany(q, messages.slice(0, cut), sql)), ...(await sendMany(q, messages.slice(cut), sql))];
  const checks = messages.some((m) => m.replyTo !== null || m.mentions.length > 0);
  const results = await q.pipeline(
    [
      ...(q.oneAtATime ? [] : [{ name: 'parley_send_batch_lock', text: sql.lock, params: [messages.map((m) => m.conversationId)] }]),
      { name: checks ? 'parley_send_batch_checked' : 'parley_send_batch', text: checks ? sql.checked : sql.main, params: sendBatchParams(messages) },
    ],
    sql.settings,
  );
  const rows = results.at(-1) as Row[];
  const outcomes: SendOutcome[] = new Array(messages.length);
  for (const r of rows) outcomes[Number(r[0]) - 1] = toOutcome(r);
  return outcomes;
}

export interface BatcherOptions {
  /** Most sends per statement. */
  maxBatch: number;
  /** How long the first send of a batch waits for company when nothing is in flight. */
  lingerMs: number;
  /** Told of each batch statement that was answered (not of the one-by-one retries of a failed one). */
  onBatch?(batch: SendBatchObservation): void;
}

/**
 * Group commit for sends. One batch is in flight at a time and batches are taken from one
 * FIFO queue, so sends get seqs in the order they were handed over: a connection that sends
 * back to back without waiting for acks sees its messages numbered in that order. While a
 * batch commits, the next one fills; an idle queue waits `lingerMs` for company (batching at
 * every rate) or until `maxBatch` sends are waiting. A batch that fails is retried one send at
 * a time, in order, so one bad send cannot fail the others.
 */
export function createSendBatcher(q: Queryable, opts: BatcherOptions) {
  /** `at`: performance.now() when handed over. */
  const queue: { message: Message; at: number; resolve: (o: SendOutcome) => void; reject: (e: unknown) => void }[] = [];
  let running = false;
  let timer: NodeJS.Timeout | null = null;

  async function pump() {
    timer = null;
    running = true;
    /** The last batch's outcomes, answered once the next batch is on its way (or none is waiting). */
    let answer: (() => void) | null = null;
    try {
      while (queue.length) {
        const batch = queue.splice(0, opts.maxBatch);
        const writtenAt = performance.now();
        const sending = sendMany(q, batch.map((b) => b.message));
        // The query above is written on a tick the driver has just scheduled; answering
        // after it lets the previous batch's acks and fan-out (several ms of this thread for
        // a batch of 20) run while PostgreSQL commits this one, instead of before it starts.
        if (answer) process.nextTick(answer);
        answer = null;
        try {
          const outcomes = await sending;
          opts.onBatch?.({ size: batch.length, queuedMs: batch.map((b) => writtenAt - b.at), roundTripMs: performance.now() - writtenAt });
          answer = () => {
            for (let k = 0; k < batch.length; k++) batch[k]!.resolve(outcomes[k]!);
          };
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else for (const b of batch) await sendMany(q, [b.message]).then(([o]) => b.resolve(o!), b.reject);
        }
      }
    } finally {
      running = false;
      answer?.();
    }
  }

  /** Queues a send; the push happens synchronously, so call order is seq order. */
  return (message: Message): Promise<SendOutcome> =>
    new Promise((resolve, reject) => {
      queue.push({ message, at: performance.now(), resolve, reject });
      if (running) return;
      if (queue.length >= opts.maxBatch || opts.lingerMs === 0) {
        if (timer) clearTimeout(timer);
        void pump();
      } else timer ??= setTimeout(() => void pump(), opts.lingerMs);
    });
}
