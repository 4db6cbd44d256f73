// What a benchmark run is, and what the runner gives it. Runs live in files of their own
// (relay and Parley group runs in group-runs.ts, large groups in fanout.ts; cluster.ts and
// graphql.ts may add theirs) and are listed in run.ts.
import type { Knobs } from './knobs.ts';
import type { Point } from './stats.ts';

export interface RunContext {
  knobs: Knobs;
  print(line: string): void;
  /** Records a measured point for the summary table. */
  point(p: Point): void;
  /** The relay's point for the same BENCH_RATE entry, when this invocation measured it. */
  relayAt(rateKey: string): Point | undefined;
}

export interface BenchRun {
  /** `relay`, `postgres:ws`...: what BENCH_RUNS selects (by name or by the part before the colon). */
  name: string;
  what: string;
  /** False when the run cannot run here (no DATABASE_URL for a PostgreSQL run, say). */
  applies(knobs: Knobs): boolean;
  run(ctx: RunContext): Promise<void>;
}
