/** Latency percentiles over a list of samples (ms). */
export function percentiles(samples: number[]): { p50: number; p95: number; p99: number; max: number } {
  if (samples.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/** What one run measured. */
export interface RunResult {
  label: string;
  sent: number;
  acked: number;
  expected: number;
  delivered: number;
  seconds: number;
  latency: ReturnType<typeof percentiles>;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  rssMb: number | null;
}

export function formatResult(r: RunResult): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
  return [
    `${r.label}`,
    `  sent ${r.sent}, acked ${r.acked}, deliveries expected ${r.expected}, delivered ${r.delivered}`,
    `  delivered/s ${f(r.delivered / r.seconds)}`,
    `  latency ms p50 ${f(r.latency.p50)}  p95 ${f(r.latency.p95)}  p99 ${f(r.latency.p99)}  max ${f(r.latency.max)}`,
    `  lost ${r.lost}  duplicates ${r.duplicates}  out of order ${r.outOfOrder}`,
    `  server RSS ${r.rssMb === null ? '-' : `${r.rssMb.toFixed(0)} MB`}`,
  ].join('\n');
}
