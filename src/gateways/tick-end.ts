/**
 * Work done once per key when the current tick's work is done. `defer(key)` answers true
 * the first time a key is deferred in a tick (the caller does its part now: corks a socket)
 * and false after. Keys run in the order first deferred, after the tick's callbacks and
 * promises and before any I/O is polled: nothing waits for a timer.
 *
 * The gateways use it to write a connection's events of one tick together: a batch of sends
 * commits at once, and its acks and events reach a member in one tick (under load a batch
 * holds several sends of one conversation). Written as they come, each was a write syscall.
 */
export function atTickEnd<K>(run: (key: K) => void, onError: (err: unknown) => void): (key: K) => boolean {
  let pending = new Set<K>();
  const end = () => {
    const keys = pending;
    pending = new Set();
    for (const key of keys) {
      try {
        run(key);
      } catch (err) {
        onError(err); // one connection's failure leaves the others' writes going out
      }
    }
  };
  return (key) => {
    if (pending.has(key)) return false;
    if (pending.size === 0) process.nextTick(end);
    pending.add(key);
    return true;
  };
}
