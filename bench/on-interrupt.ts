// What the bench started (servers, a private PostgreSQL and its data dir, Redis) is stopped
// when the bench is interrupted (Ctrl-C, `kill`), not only when it ends: a `kill` reaches the
// bench alone and would leave them running, and even Ctrl-C, which reaches them too, left
// the private PostgreSQL's data dir behind.
const stops = new Set<() => Promise<unknown> | unknown>();
let interrupted = false;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second interrupt does not wait for the stops (one may hang): it ends the bench now.
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log(`\n${signal}: stopping what the bench started`);
    void Promise.allSettled([...stops].map(async (stop) => stop())).then(() => process.exit(130));
  });
}

/** Runs `stop` if the bench is interrupted before the returned function is called (when it was stopped the usual way). */
export function stopOnInterrupt(stop: () => Promise<unknown> | unknown): () => void {
  stops.add(stop);
  return () => stops.delete(stop);
}
