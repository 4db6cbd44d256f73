// Figures and how they are printed.
import type { DbCounters } from './postgres.ts';
import type { KernelCounts } from './proc.ts';

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
  /** Which round of BENCH_REPEAT measured it (set by the runner; 1 when not repeated). */
  round?: number;
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
  /** Machine stalls during the measurement (bench/stall-probe.ts); group runs only. */
  stalls?: { count: number; longestMs: number };
  /** Share of the cores' time the host stole during the measurement (/proc/stat); group runs only. */
  stolen?: number;
  /** Share of the window the load generator's thread was busy (near 1, its own queue is in the latencies); group runs only. */
  generatorBusy?: number;
}

const share = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${fmt(x * 100, 0)}%`);

export interface CpuFigures {
  serverSeconds: number | null;
  /** The server's system (kernel) share of serverSeconds: socket writes mostly. */
  serverSystemSeconds?: number | null;
  /** The share of serverSeconds on threads other than the main one: V8's compiler and collector helpers mostly. */
  serverHelperSeconds?: number | null;
  pgSeconds: number | null;
}

export function cpuLine(cpu: CpuFigures, deliveries: number, relayUs: number | null): string {
  const us = (s: number | null) => (s === null || deliveries === 0 ? null : (s * 1e6) / deliveries);
  const server = us(cpu.serverSeconds);
  const pgUs = us(cpu.pgSeconds);
  const total = (server ?? 0) + (pgUs ?? 0);
  const ratio = relayUs ? `  (${fmt(total / relayUs, 2)}× the relay's ${fmt(relayUs)} µs)` : '';
  const system = us(cpu.serverSystemSeconds ?? null);
  const helpers = us(cpu.serverHelperSeconds ?? null);
  const parts = [system === null ? null : `${fmt(system)} in the kernel`, helpers === null ? null : `${fmt(helpers)} on helper threads`].filter(Boolean);
  return `  CPU per delivery: server ${fmt(server)} µs${parts.length ? ` (${parts.join(', ')})` : ''}, PostgreSQL ${pgUs === null ? '-' : `${fmt(pgUs)} µs`}, total ${fmt(total)} µs${ratio}`;
}

/**
 * The server's read and write system calls and context switches per delivery, PostgreSQL's
 * context switches: counts, which the machine's noise does not move. PostgreSQL's backends
 * talk over send() and recv(), which /proc/<pid>/io does not count, so only its switches are.
 */
export function kernelLine(server: KernelCounts, pg: KernelCounts | null, deliveries: number): string {
  if (deliveries === 0) return '  per delivery: -';
  const per = (n: number) => fmt(n / deliveries, 2);
  return (
    `  per delivery: server ${per(server.writes)} write and ${per(server.reads)} read system calls, ${per(server.switches)} context switches` +
    (pg ? `; PostgreSQL ${per(pg.switches)} context switches` : '')
  );
}

export function dbLine(d: DbCounters | null, messages: number): string | null {
  if (!d || messages === 0) return null;
  const per = (n: number) => fmt(n / messages, 2);
  return `  PostgreSQL per message: ${per(d.commits)} commits, ${per(d.rollbacks)} rollbacks, rows ${per(d.inserted)} inserted / ${per(d.updated)} updated / ${per(d.deleted)} deleted / ${per(d.fetched)} fetched; ${per(d.blocksWritten)} blocks written
  PostgreSQL's WAL (the whole server): ${per(d.walFpi)} full-page images and ${fmt(d.walBytes / messages / 1024, 1)} KB per message; ${int(d.walSyncs)} syncs${d.walSyncMs === null || !d.walSyncs ? '' : `, ${fmt(d.walSyncMs / d.walSyncs, 2)} ms each on average`}; checkpoints begun ${d.checkpoints}${d.checkpoints ? " (after one, each page's first change writes the whole page to the WAL)" : ''}; autovacuum on the run's tables: ${d.autovacuums} vacuums, ${d.autoanalyzes} analyzes`;
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

/** Where a point's relay is kept: the relay of the same round and BENCH_RATE entry. */
export const relayKey = (round: number, rateKey: string) => `${round}\n${rateKey}`;

/** Server plus PostgreSQL CPU per delivery, over the relay's of the same round (null without a relay). */
function cpuRatio(p: Point, relay: Map<string, Point>): number | null {
  const r = relay.get(relayKey(p.round ?? 1, p.key));
  const relayCpu = r?.serverUsPerDelivery;
  return relayCpu ? ((p.serverUsPerDelivery ?? 0) + (p.pgUsPerDelivery ?? 0)) / relayCpu : null;
}

export function summaryTable(points: Point[], relay: Map<string, Point>): string {
  const rounds = points.some((p) => (p.round ?? 1) > 1);
  const head = `| run |${rounds ? ' round |' : ''} rate (msg/s) | deliveries/s | × relay | p50 ms | p99 ms | lost | dup | out of order (conv/sender/seq) | server µs/delivery | PG µs/delivery | CPU × relay | RSS idle → settled MB | machine stalls (longest ms) | host stole | generator thread busy |`;
  const rows = points.map((p) => {
    const r = relay.get(relayKey(p.round ?? 1, p.key));
    return `| ${p.run} |${rounds ? ` ${p.round ?? 1} |` : ''} ${p.rate} | ${int(p.deliveriesPerSec)} | ${r ? fmt(p.deliveriesPerSec / r.deliveriesPerSec, 2) : '-'} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${p.lost} | ${p.duplicates} | ${p.outOfOrder} | ${fmt(p.serverUsPerDelivery)} | ${fmt(p.pgUsPerDelivery)} | ${fmt(cpuRatio(p, relay), 2)} | ${int(p.rssIdleMb)} → ${int(p.rssSettledMb)} | ${p.stalls ? `${p.stalls.count}${p.stalls.count ? ` (${int(p.stalls.longestMs)})` : ''}` : '-'} | ${share(p.stolen)} | ${share(p.generatorBusy)} |`;
  });
  return [head, `|${'---|'.repeat(rounds ? 17 : 16)}`, ...rows].join('\n');
}

const median = (xs: (number | null | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/**
 * With BENCH_REPEAT: per run and rate, the median over rounds of each figure, and the
 * range of the CPU ratio. One round on this machine can land anywhere in a wide range
 * (the two cores tip into queueing or not); a median of interleaved rounds is what a
 * change is judged by.
 */
export function mediansTable(points: Point[], relay: Map<string, Point>): string {
  const groups = new Map<string, Point[]>();
  for (const p of points) {
    const k = `${p.run}\n${p.key}`;
    const group = groups.get(k);
    if (group) group.push(p);
    else groups.set(k, [p]);
  }
  const head = '| run | rate (msg/s) | rounds | deliveries/s | p50 ms | p99 ms | server µs/delivery | PG µs/delivery | CPU × relay (min–max) | host stole | generator thread busy |';
  const rows = [...groups.values()].map((ps) => {
    const ratios = ps.map((p) => cpuRatio(p, relay)).filter((x): x is number => x !== null);
    const range = ratios.length ? ` (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)})` : '';
    // A `find` lands on a rate of its own each round: its figures are at each round's highest.
    return `| ${ps[0]!.run} | ${ps[0]!.key === 'find' ? 'find (each round its highest)' : ps[0]!.rate} | ${ps.length} | ${int(median(ps.map((p) => p.deliveriesPerSec)))} | ${fmt(median(ps.map((p) => p.p50)))} | ${fmt(median(ps.map((p) => p.p99)))} | ${fmt(median(ps.map((p) => p.serverUsPerDelivery)))} | ${fmt(median(ps.map((p) => p.pgUsPerDelivery)))} | ${fmt(median(ratios), 2)}${range} | ${share(median(ps.map((p) => p.stolen)))} | ${share(median(ps.map((p) => p.generatorBusy)))} |`;
  });
  return [head, `|${'---|'.repeat(11)}`, ...rows].join('\n');
}

/** The name a baseline's figures go under when it runs side by side with this checkout (BENCH_BASELINE). */
export const baselineLabel = (run: string) => `${run} (baseline)`;

const total = (p: Point) => (p.serverUsPerDelivery === null ? null : p.serverUsPerDelivery + (p.pgUsPerDelivery ?? 0));
const delta = (x: number | null, base: number | null) =>
  x === null || base === null ? '-' : `${fmt(base)} → ${fmt(x)} (${x >= base ? '+' : ''}${fmt(x - base)}, ${x >= base ? '+' : ''}${fmt(((x - base) / base) * 100, 1)}%)`;

/** One rate measured side by side: the baseline's CPU per delivery, then this checkout's. */
export function sideBySideLine(p: Point, base: Point): string {
  return `  side by side, baseline → this checkout, µs per delivery: server ${delta(p.serverUsPerDelivery, base.serverUsPerDelivery)}, PostgreSQL ${delta(p.pgUsPerDelivery, base.pgUsPerDelivery)}, total ${delta(total(p), total(base))}`;
}

/**
 * With BENCH_BASELINE: per run and rate, this checkout against the baseline measured beside
 * it, round by round (the two sides of a round met the same machine), and the median of
 * the differences.
 */
export function sideBySideTable(points: Point[]): string | null {
  const rows: string[] = [];
  const keys = new Set(points.filter((p) => points.some((b) => b.run === baselineLabel(p.run))).map((p) => `${p.run}\n${p.key}`));
  for (const k of keys) {
    const [run, key] = k.split('\n') as [string, string];
    const pairs = points
      .filter((p) => p.run === run && p.key === key)
      .map((p) => ({ p, base: points.find((b) => b.run === baselineLabel(run) && b.key === key && (b.round ?? 1) === (p.round ?? 1)) }))
      .filter((x): x is { p: Point; base: Point } => x.base !== undefined);
    const diff = (f: (p: Point) => number | null) => pairs.map(({ p, base }) => (f(p) === null || f(base) === null ? null : f(p)! - f(base)!));
    const figure = (f: (p: Point) => number | null) => {
      const d = diff(f).filter((x): x is number => x !== null);
      return `${fmt(median(pairs.map(({ base }) => f(base))))} → ${fmt(median(pairs.map(({ p }) => f(p))))} | ${d.length ? `${median(d)! >= 0 ? '+' : ''}${fmt(median(d))}` : '-'} | ${d.filter((x) => x < 0).length} of ${d.length}`;
    };
    rows.push(`| ${run} | ${pairs[0]?.p.rate ?? key} | ${pairs.length} | ${figure((p) => p.serverUsPerDelivery)} | ${figure((p) => p.pgUsPerDelivery)} | ${figure(total)} |`);
  }
  if (!rows.length) return null;
  const head =
    '| run | rate (msg/s) | rounds | server µs/delivery, baseline → this (medians) | median difference | lower in | PG µs/delivery | median difference | lower in | total | median difference | lower in |';
  return [head, `|${'---|'.repeat(12)}`, ...rows].join('\n');
}

/** The median wall time of `calls` calls of `fn`, one after another, in ms (bench:unread, bench:members). */
export async function medianMs(calls: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}
