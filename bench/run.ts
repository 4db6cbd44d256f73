// npm run bench: every run that applies (or those BENCH_RUNS names), in one invocation, so
// ratios to the relay come from one machine state. Settings: bench/knobs.ts and the README.
import { clusterRuns } from './cluster.ts';
import { fanoutRuns } from './fanout.ts';
import { graphqlRuns } from './graphql.ts';
import { groupRuns } from './group-runs.ts';
import { knobs } from './knobs.ts';
import { pushFanoutRuns } from './push-fanout.ts';
import type { BenchRun, RunContext } from './registry.ts';
import { mediansTable, type Point, relayKey, sideBySideTable, summaryTable } from './stats.ts';

/** Every run, in the order they go; a new file of runs adds one entry here. */
const RUNS: BenchRun[] = [...groupRuns, ...graphqlRuns, ...fanoutRuns, ...pushFanoutRuns, ...clusterRuns];

const selected = (r: BenchRun) => knobs.runs.length === 0 || knobs.runs.some((s) => s === r.name || s === r.name.split(':')[0]);
const runs = RUNS.filter((r) => selected(r) && r.applies(knobs));
const points: Point[] = [];
const relay = new Map<string, Point>();
let round = 1;
const ctx: RunContext = {
  knobs,
  print: (line) => console.log(line),
  point(p) {
    const measured = { ...p, round };
    points.push(measured);
    if (p.run === 'relay') relay.set(relayKey(round, p.key), measured);
  },
  relayAt: (key) => relay.get(relayKey(round, key)),
};

console.log(
  `Parley benchmark: ${knobs.clients} clients in groups of ${knobs.group} (${Math.round(knobs.senders * 100)}% sending${knobs.offline ? `, and ${knobs.offline} more never connected${{ none: '', served: ', each with an FCM device (pushes go to a local FCM server)', unserved: ', each with an FCM device no channel serves' }[knobs.offlineDevices]}` : ''}), rates ${knobs.rates.join(', ')} msg/s, ` +
    `${knobs.warmupSeconds} s warm-up + ${knobs.seconds} s each, ${knobs.cores} cores; server ${knobs.serverDir}` +
    `${knobs.databaseUrl ? `; PostgreSQL ${knobs.databaseUrl === 'private' ? 'private (started by the bench)' : 'from DATABASE_URL'}` : ''}`,
);
console.log(`runs: ${runs.map((r) => r.name).join(', ') || 'none'}${knobs.repeat > 1 ? `, ${knobs.repeat} rounds in turn` : ''}\n`);
let failed = false;
for (; round <= knobs.repeat; round++) {
  for (const run of runs) {
    console.log(`== ${run.name}${knobs.repeat > 1 ? ` (round ${round} of ${knobs.repeat})` : ''}: ${run.what}`);
    try {
      await run.run(ctx);
    } catch (err) {
      failed = true;
      console.log(`  failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
    console.log('');
  }
}
if (points.length) console.log(summaryTable(points, relay));
if (knobs.repeat > 1 && points.length) console.log(`\nMedians over the rounds (each round's ratio to its own relay):\n\n${mediansTable(points, relay)}`);
const sideBySide = sideBySideTable(points);
if (sideBySide) console.log(`\nSide by side with ${knobs.baselineDir} (each round's difference between the two sides of that round):\n\n${sideBySide}`);
process.exit(failed ? 1 : 0);
