import { createHook } from 'node:async_hooks';

/**
 * Loaded into every test file by scripts/run-tests.mjs (`--import`). A file runs with
 * --test-force-exit, so a ref'd setInterval still running after its last test (something
 * `close()` forgot: a real server would hang on it at shutdown) no longer keeps the file
 * open until its deadline; instead, this says where each such interval was made, on exit.
 * It only reports: the test that should catch the leak is the shutdown test of what leaks.
 *
 * Only intervals are tracked (a Timeout whose `_repeat` is set when it is made), so the
 * stack capture costs nothing for the many one-shot timers a test file makes.
 */
type Interval = { _repeat: number | null; _destroyed: boolean; hasRef(): boolean };
const intervals = new Map<number, { timer: WeakRef<Interval>; stack: string }>();

createHook({
  init(asyncId, type, _trigger, resource) {
    if (type !== 'Timeout' || !(resource as Interval)._repeat) return;
    intervals.set(asyncId, { timer: new WeakRef(resource as Interval), stack: new Error().stack ?? '' });
  },
  destroy(asyncId) {
    intervals.delete(asyncId);
  },
}).enable();

process.on('exit', () => {
  const live = [...intervals.values()].filter(({ timer }) => {
    const t = timer.deref();
    return t && !t._destroyed && t._repeat && t.hasRef();
  });
  if (!live.length) return;
  const frames = (stack: string) =>
    stack
      .split('\n')
      .slice(2) // the message and this hook
      .filter((l) => !/node:internal\/async_hooks|node:internal\/timers|\(node:timers/.test(l))
      .slice(0, 8)
      .join('\n');
  const where = live.map(({ stack }) => frames(stack)).join('\n  --\n');
  process.stderr.write(`\nlingering intervals: ${live.length} ref'd setInterval(s) still running when the file ended; made at:\n${where}\n`);
});
