/**
 * Turns on PGlite's one connection, in two lanes. Everything shares that connection: the
 * send batch, REST reads, and the job queue's fetches and handlers (a message to a large
 * group's offline members makes thousands of them). PGlite itself takes its callers in
 * arrival order, so a send batch waited behind every job statement queued before it. Here a
 * turn is one statement outside a transaction, or one transaction from BEGIN to its end;
 * when the connection comes free, the send lane's next turn goes before the others.
 *
 * The send lane cannot starve the other: the batcher has one batch in flight and so at
 * most one turn waiting, and whatever waits in the other lane goes between two batches.
 */
export function connectionLanes() {
  const waiting = { send: [] as (() => void)[], other: [] as (() => void)[] };
  let held = false;

  const release = () => {
    const next = waiting.send.shift() ?? waiting.other.shift();
    if (next) next();
    else held = false;
  };

  return {
    /** Resolves when it is this caller's turn; the caller must then call `release` once, when done. */
    acquire(lane: 'send' | 'other'): Promise<void> {
      if (!held) {
        held = true;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting[lane].push(resolve));
    },
    release,
    /** Turns waiting, by lane (for tests). */
    queued: () => ({ send: waiting.send.length, other: waiting.other.length }),
  };
}
