// The load of one group run: senders send at a fixed rate, pipelined (no waiting for acks),
// and every member's deliveries are checked: latency (send to receipt, one clock), loss,
// duplicates, seqs going backwards per conversation, and each sender's messages arriving,
// and taking seqs, in the order it sent them.
import { performance } from 'node:perf_hooks';
import type { BenchClient } from './clients.ts';
import { percentiles } from './stats.ts';

export interface Member {
  client: BenchClient;
  conversationId: string;
  sender: boolean;
}

export interface LoadResult {
  rate: number;
  /** Seconds from the first measured send to the last measured delivery. */
  seconds: number;
  sent: number;
  acked: number;
  /** Sends answered with an error, by code. */
  refused: Record<string, number>;
  expected: number;
  delivered: number;
  latency: ReturnType<typeof percentiles>;
  lost: number;
  duplicates: number;
  /** Deliveries whose seq was not above the last one that member saw in that conversation. */
  outOfOrderConversation: number;
  /** Deliveries that arrived before an earlier message of the same sender. */
  outOfOrderSender: number;
  /** Acked sends whose seq was below that of the same sender's previous send. */
  seqsOutOfSendOrder: number;
  /**
   * Why a delivery can be missing by design: connections the server dropped (a slow
   * consumer past PARLEY_MAX_BUFFERED_BYTES) and `sync:required` events (a cluster's bus lost
   * messages). A real client recovers both by syncing; these bench clients do not, so what
   * they missed counts as lost here. Counted during this step only.
   */
  dropped: number;
  syncRequired: number;
  /** Deliveries that skipped a seq (an event not sent live): a real client syncs the gap. */
  gaps: number;
}

export interface Meter {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wires receivers once; then `step(rate)` measures one rate (after a warm-up at that rate). */
export function loadGenerator(members: Member[], opts: { groupSize: number; bodyBytes: number; warmupSeconds: number; seconds: number }) {
  const senders = members.map((m, i) => ({ ...m, index: i })).filter((m) => m.sender);
  const counters = new Map<number, number>(senders.map((s) => [s.index, 0]));
  let stats = fresh();

  function fresh() {
    return {
      latencies: [] as number[],
      seen: members.map(() => new Set<string>()),
      delivered: 0,
      duplicates: 0,
      outOfOrderConversation: 0,
      outOfOrderSender: 0,
      gaps: 0,
      lastDeliveryAt: 0,
    };
  }
  const lastSeq = members.map(() => 0);
  const lastFromSender = members.map(() => new Map<string, number>());

  members.forEach((m, i) => {
    m.client.onMessage((d) => {
      const now = performance.now();
      const [phase, sender, n, sentAt] = d.message.body.split('|');
      if (d.seq <= lastSeq[i]! && phase === 'm') stats.outOfOrderConversation++;
      if (lastSeq[i]! > 0 && d.seq > lastSeq[i]! + 1 && phase === 'm') stats.gaps++;
      lastSeq[i] = Math.max(lastSeq[i]!, d.seq);
      const last = lastFromSender[i]!.get(sender!) ?? -1;
      if (Number(n) < last && phase === 'm') stats.outOfOrderSender++;
      lastFromSender[i]!.set(sender!, Math.max(last, Number(n)));
      if (phase !== 'm') return;
      const key = `${sender}|${n}`;
      if (stats.seen[i]!.has(key)) {
        stats.duplicates++;
        return;
      }
      stats.seen[i]!.add(key);
      stats.delivered++;
      stats.lastDeliveryAt = now;
      stats.latencies.push(now - Number(sentAt));
    });
  });

  const total = (name: string) => members.reduce((n, m) => n + (m.client.counts.get(name) ?? 0), 0);

  async function step(rate: number, meter: Meter): Promise<LoadResult> {
    stats = fresh();
    const [droppedBefore, syncBefore] = [total('disconnect'), total('sync:required')];
    const refused: Record<string, number> = {};
    let sent = 0;
    let acked = 0;
    const acks: Promise<void>[] = [];
    const ackSeqs = new Map<number, { n: number; seq: number }[]>();
    let next = 0;
    const pad = (s: string) => s + 'x'.repeat(Math.max(0, opts.bodyBytes - s.length));

    const sendSome = (phase: 'w' | 'm', due: number, already: number) => {
      let k = already;
      for (; k < due; k++) {
        const s = senders[next++ % senders.length]!;
        const n = counters.get(s.index)!;
        counters.set(s.index, n + 1);
        const body = pad(`${phase}|${s.index}|${n}|${performance.now().toFixed(3)}|`);
        const p = s.client.send(s.conversationId, `b-${s.index}-${n}`, body).then((r) => {
          if (phase !== 'm') return;
          if (r.ok) {
            acked++;
            const list = ackSeqs.get(s.index) ?? [];
            ackSeqs.set(s.index, list);
            list.push({ n, seq: r.seq });
          } else refused[r.code] = (refused[r.code] ?? 0) + 1;
        });
        if (phase === 'm') {
          sent++;
          acks.push(p);
        }
      }
      return k;
    };

    const drive = (phase: 'w' | 'm', seconds: number) =>
      new Promise<number>((resolve) => {
        const start = performance.now();
        let done = 0;
        const timer = setInterval(() => {
          const elapsed = performance.now() - start;
          const due = Math.floor((Math.min(elapsed, seconds * 1000) / 1000) * rate);
          done = sendSome(phase, due, done);
          if (elapsed >= seconds * 1000) {
            clearInterval(timer);
            resolve(start);
          }
        }, 5);
      });

    await drive('w', opts.warmupSeconds);
    await meter.start();
    const start = await drive('m', opts.seconds);
    // Every measured send answered (or 30 s), then deliveries until none is missing or none came for 3 s.
    await Promise.race([Promise.all(acks), sleep(30_000)]);
    const expected = acked * (opts.groupSize - 1);
    let lastCount = -1;
    let quietSince = performance.now();
    while (stats.delivered < expected && performance.now() - quietSince < 3000) {
      await sleep(50);
      if (stats.delivered !== lastCount) {
        lastCount = stats.delivered;
        quietSince = performance.now();
      }
    }
    await meter.stop();
    let seqsOutOfSendOrder = 0;
    for (const list of ackSeqs.values()) {
      list.sort((a, b) => a.n - b.n);
      for (let k = 1; k < list.length; k++) if (list[k]!.seq < list[k - 1]!.seq) seqsOutOfSendOrder++;
    }
    return {
      rate,
      seconds: (Math.max(stats.lastDeliveryAt, start + opts.seconds * 1000) - start) / 1000,
      sent,
      acked,
      refused,
      expected,
      delivered: stats.delivered,
      latency: percentiles(stats.latencies),
      lost: Math.max(0, expected - stats.delivered),
      duplicates: stats.duplicates,
      outOfOrderConversation: stats.outOfOrderConversation,
      outOfOrderSender: stats.outOfOrderSender,
      seqsOutOfSendOrder,
      dropped: total('disconnect') - droppedBefore,
      syncRequired: total('sync:required') - syncBefore,
      gaps: stats.gaps,
    };
  }

  return { step };
}
