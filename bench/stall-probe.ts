// Whether the machine itself stalled during a measurement. The VM this was written on
// stops every process at once for 100-400 ms now and then, idle or loaded (a 50 ms sampler
// of /proc saw its own ticks stop with the server's and the load generator's). At 2,222
// msg/s one such stall holds back about 5,000 of a run's 200,000 deliveries: enough on its
// own to put p99 past 100 ms, for the relay as much as for Parley. The probe is a thread
// doing nothing but a 5 ms timer, so a late tick is the machine's doing (a freeze, or cores
// too oversubscribed to give a thread a turn), not a busy event loop's; runs it saw stalls
// in say so, and their p99 says little about the server.
import { Worker } from 'node:worker_threads';

const TICK_MS = 5;
/** A tick this much later than due counts as a stall. */
export const STALL_MS = 50;

// Plain JavaScript: a worker started from eval does not go through tsx.
const PROBE = `
const { parentPort } = require('node:worker_threads');
const stalls = [];
let last = Date.now();
setInterval(() => {
  const now = Date.now();
  if (now - last - ${TICK_MS} >= ${STALL_MS}) stalls.push([now, now - last - ${TICK_MS}]);
  last = now;
  if (stalls.length > 10000) stalls.shift();
}, ${TICK_MS});
parentPort.on('message', ({ from, to }) => parentPort.postMessage(stalls.filter(([at]) => at >= from && at <= to).map(([, ms]) => ms)));
`;

export interface Stalls {
  count: number;
  longestMs: number;
}

let worker: Worker | null = null;

/** Starts the probe (once per process); `stop()` answers the stalls seen since this call. */
export function watchStalls(): { stop(): Promise<Stalls> } {
  if (!worker) {
    worker = new Worker(PROBE, { eval: true });
    worker.unref();
  }
  const w = worker;
  const from = Date.now();
  return {
    async stop() {
      const to = Date.now();
      const gaps = await new Promise<number[]>((resolve) => {
        w.once('message', resolve);
        w.postMessage({ from, to });
      });
      return { count: gaps.length, longestMs: gaps.length ? Math.max(...gaps) : 0 };
    },
  };
}
