// Figures and how they are printed.
import type { DbCounters } from './postgres.ts';

/** Latency percentiles over samples (ms). */
export function percentiles(samples: number[]): { p50: number; p95: number; p99: number; max: number } {
  if (samples.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

export const fmt = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const int = (n: number | null | undefined) => fmt(n, 0);

/** One measured point of a run, as the summary table shows it. */
export interface Point {
  run: string;
  /** The BENCH_RATE entry it measured (a rate, or `find`): points of one key compare with the relay's. */
  key: string;
  rate: number | string;
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  lost: number;
  duplicates: number;
  outOfOrder: string;
  serverUsPerDelivery: number | null;
  pgUsPerDelivery: number | null;
  rssSettledMb?: number | null;
  rssIdleMb?: number | null;
}

export interface CpuFigures {
  serverSeconds: number | null;
  /** The server's system (kernel) share of serverSeconds: socket writes mostly. */
  serverSystemSeconds?: number | null;
  pgSeconds: number | null;
}

export function cpuLine(cpu: CpuFigures, deliveries: number, relayUs: number | null): string {
  const us = (s: number | null) => (s === null || deliveries === 0 ? null : (s * 1e6) / deliveries);
  const server = us(cpu.serverSeconds);
  const pgUs = us(cpu.pgSeconds);
  const total = (server ?? 0) + (pgUs ?? 0);
  const ratio = relayUs ? `  (${fmt(total / relayUs, 2)}× the relay's ${fmt(relayUs)} µs)` : '';
  const system = us(cpu.serverSystemSeconds ?? null);
  return `  CPU per delivery: server ${fmt(server)} µs${system === null ? '' : ` (${fmt(system)} in the kernel)`}, PostgreSQL ${pgUs === null ? '-' : `${fmt(pgUs)} µs`}, total ${fmt(total)} µs${ratio}`;
}

export function dbLine(d: DbCounters | null, messages: number): string | null {
  if (!d || messages === 0) return null;
  const per = (n: number) => fmt(n / messages, 2);
  return `  PostgreSQL per message: ${per(d.commits)} commits, ${per(d.rollbacks)} rollbacks, rows ${per(d.inserted)} inserted / ${per(d.updated)} updated / ${per(d.deleted)} deleted / ${per(d.fetched)} fetched; ${per(d.blocksWritten)} blocks written`;
}

export interface RssFigures {
  idle: number | null;
  connected: number | null;
  peak: number | null;
  after: number | null;
  settled: number | null;
  settleSeconds: number;
}

export const rssLine = (r: RssFigures) =>
  `  server RSS MB: idle ${int(r.idle)}, clients connected ${int(r.connected)}, peak under load ${int(r.peak)}, after ${int(r.after)}, ${r.settleSeconds} s later ${int(r.settled)}` +
  (r.idle !== null && r.settled !== null ? ` (${r.settled - r.idle >= 0 ? '+' : ''}${int(r.settled - r.idle)} over idle)` : '');

export function summaryTable(points: Point[], relay: Map<string, Point>): string {
  const head = '| run | rate (msg/s) | deliveries/s | × relay | p50 ms | p99 ms | lost | dup | out of order (conv/sender/seq) | server µs/delivery | PG µs/delivery | CPU × relay | RSS idle → settled MB |';
  const rows = points.map((p) => {
    const r = relay.get(p.key);
    const cpu = (p.serverUsPerDelivery ?? 0) + (p.pgUsPerDelivery ?? 0);
    const relayCpu = r ? (r.serverUsPerDelivery ?? 0) : null;
    return `| ${p.run} | ${p.rate} | ${int(p.deliveriesPerSec)} | ${r ? fmt(p.deliveriesPerSec / r.deliveriesPerSec, 2) : '-'} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${p.lost} | ${p.duplicates} | ${p.outOfOrder} | ${fmt(p.serverUsPerDelivery)} | ${fmt(p.pgUsPerDelivery)} | ${relayCpu ? fmt(cpu / relayCpu, 2) : '-'} | ${int(p.rssIdleMb)} → ${int(p.rssSettledMb)} |`;
  });
  return [head, `|${'---|'.repeat(13)}`, ...rows].join('\n');
}
