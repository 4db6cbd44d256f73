import { performance } from 'node:perf_hooks';
import type { BenchClient } from './clients.ts';
import { percentiles, type RunResult } from './stats.ts';

export interface Member {
  client: BenchClient;
  conversationId: string;
}

/**
 * Sends `rate` messages a second for `seconds` from members picked in turn, and measures
 * every delivery at the other members: latency (send to receipt, one clock), loss,
 * duplicates, and seqs that went backwards. Waits for stragglers before counting loss.
 */
export async function runLoad(label: string, members: Member[], groupSize: number, rate: number, seconds: number, rss: () => number | null): Promise<RunResult> {
  const latencies: number[] = [];
  const seen = members.map(() => new Set<string>());
  const lastSeq = members.map(() => 0);
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let lastDeliveryAt = 0;
  members.forEach((m, i) => {
    m.client.onMessage((d) => {
      const now = performance.now();
      const key = d.message.id ?? d.message.body;
      if (seen[i]!.has(key)) {
        duplicates++;
        return;
      }
      seen[i]!.add(key);
      delivered++;
      lastDeliveryAt = now;
      latencies.push(now - Number(d.message.body.split(':')[1]));
      if (d.seq > 0) {
        if (d.seq <= lastSeq[i]!) outOfOrder++;
        lastSeq[i] = d.seq;
      }
    });
  });

  let sent = 0;
  let acked = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const tickMs = 10;
  let next = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= seconds * 1000) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor((elapsed / 1000) * rate);
      while (sent < due) {
        const m = members[next++ % members.length]!;
        const body = `t:${performance.now().toFixed(3)}:${sent}`;
        sent++;
        pending.push(m.client.send(m.conversationId, body).then((ok) => void (ok && acked++), () => {}));
      }
    }, tickMs);
  });
  await Promise.all(pending);
  const expected = acked * (groupSize - 1);
  const deadline = performance.now() + 10_000;
  while (delivered < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const window = (Math.max(lastDeliveryAt, start + seconds * 1000) - start) / 1000;
  return {
    label,
    sent,
    acked,
    expected,
    delivered,
    seconds: window,
    latency: percentiles(latencies),
    lost: Math.max(0, expected - delivered),
    duplicates,
    outOfOrder,
    rssMb: rss(),
  };
}
