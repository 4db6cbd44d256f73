// The send path's group commit as the server's /metrics counts it (src/operations/send-metrics.ts):
// read before and after a measured rate, the difference says how many batch statements the
// rate made, their mean size, and the mean time a message queued behind the batch in flight
// and a statement took to come back (commit included). These split p50 between the database
// and the queue in front of it.
import { fmt } from './stats.ts';

export interface SendPath {
  queuedCount: number;
  queuedSum: number;
  statements: number;
  statementSum: number;
  messages: number;
}

/** The server's send-path totals, or null from a server that has none (an older checkout). */
export async function sendPathSnapshot(url: string): Promise<SendPath | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const s: SendPath = {
    queuedCount: value('parley_send_queue_seconds_count'),
    queuedSum: value('parley_send_queue_seconds_sum'),
    statements: value('parley_send_statement_seconds_count'),
    statementSum: value('parley_send_statement_seconds_sum'),
    messages: value('parley_send_batch_messages_sum'),
  };
  return Object.values(s).some(Number.isNaN) ? null : s;
}

export function sendPathLine(before: SendPath | null, after: SendPath | null): string | null {
  if (!before || !after) return null;
  const statements = after.statements - before.statements;
  const queued = after.queuedCount - before.queuedCount;
  if (statements === 0 || queued === 0) return null;
  const ms = (seconds: number, n: number) => fmt((seconds * 1000) / n, 2);
  return (
    `  send path (server's /metrics): ${statements} batch statements of ${fmt((after.messages - before.messages) / statements, 1)} messages on average; ` +
    `a message queued ${ms(after.queuedSum - before.queuedSum, queued)} ms behind the batch in flight, a statement took ${ms(after.statementSum - before.statementSum, statements)} ms to come back (commit included; means)`
  );
}
