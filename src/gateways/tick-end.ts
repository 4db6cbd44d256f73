/** What atTickEnd defers: an object of the gateway's own that carries its mark. */
export interface TickKey {
  /** Deferred in the current tick (set and cleared by atTickEnd alone). */
  atTickEnd: boolean;
}

/**
 * Work done once per key when the current tick's work is done. `defer(key)` answers true
 * the first time a key is deferred in a tick (the caller does its part now: corks a socket)
 * and false after. Keys run in the order first deferred, after the tick's callbacks and
 * promises and before any I/O is polled: nothing waits for a timer.
 *
 * The gateways use it to write a connection's events of one tick together: a batch of sends
 * commits at once, and its acks and events reach a member in one tick (under load a batch
 * holds several sends of one conversation). Written as they come, each was a write syscall.
 *
 * A key marks itself rather than sitting in a Set: this runs for every event written, and a
 * Set built anew each tick hashed every key and grew its table as it went (about 3% of the
 * server's allocations under load, issue 9).
 */
export function atTickEnd<K extends TickKey>(run: (key: K) => void, onError: (err: unknown) => void): (key: K) => boolean {
  let pending: K[] = [];
  const end = () => {
    const keys = pending;
    pending = [];
    for (const key of keys) {
      key.atTickEnd = false;
      try {
        run(key);
      } catch (err) {
        onError(err); // one connection's failure leaves the others' writes going out
      }
    }
  };
  return (key) => {
    if (key.atTickEnd) return false;
    if (pending.length === 0) process.nextTick(end);
    key.atTickEnd = true;
    pending.push(key);
    return true;
  };
}
