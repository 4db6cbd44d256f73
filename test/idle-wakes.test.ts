import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { type EmbeddedServer, embeddedServer } from './helpers/embedded-server.ts';

/**
 * An idle server should sleep. Every wake of a sleeping process costs about 0.1 ms of CPU on
 * the machine measured, so a timer that fires every 10 ms keeps 1% of a core busy with nobody
 * connected: prom-client's event-loop lag histogram did that by default.
 *
 * Counted from the kernel: the times the server's main thread went to sleep and was woken
 * (voluntary context switches), over a few windows. A busy machine can only merge wakes,
 * never add them, and a window with startup work in it (a queue's first fetches, say) is
 * outweighed by the quietest one, which is what is asserted.
 */
const WINDOWS = 4;
const WINDOW_MS = 2_000;
/** The lag histogram's 10 wakes a second, the job queue's and the sweeps' timers, with room for others. */
const MAX_WAKES_PER_SECOND = 30;

let server: EmbeddedServer | null = null;
after(() => server?.close());

/** The main thread's voluntary context switches so far (its own task: /proc/PID/task/PID). */
const wakes = (pid: number) => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))![1]);

test('an idle embedded server wakes its main thread a few times a second, not a hundred', async () => {
  server = await embeddedServer();
  const health = await fetch(`${server.url}/health`);
  assert.equal(health.status, 200);
  const pid = server.pid;
  const rates: number[] = [];
  for (let i = 0; i < WINDOWS; i++) {
    const w0 = wakes(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    rates.push(((wakes(pid) - w0) * 1000) / (performance.now() - t0));
  }
  const quietest = Math.min(...rates);
  assert.ok(quietest < MAX_WAKES_PER_SECOND, `wakes a second in each ${WINDOW_MS} ms window: ${rates.map((r) => r.toFixed(1)).join(', ')}`);
});
