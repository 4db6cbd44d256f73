import type { Actor, ConversationEvent } from '../domain/types.ts';
import type { Bus } from '../realtime/bus.ts';
import type { Repos, Store } from '../storage/store.ts';

export type { Actor };

/** What every service is built from: ports only, wired by hand in app.ts. */
export interface ServiceDeps {
  store: Store;
  bus: Bus;
  now: () => Date;
  /**
   * Told after a commit that left notification work in the outbox with no bus event to
   * bring the dispatcher (a group invitation), so it is drained now rather than at the
   * outbox's next sweep.
   */
  notifyWorkWritten?: () => void;
}

/** A change's result and the log event it made; event is null for a no-op. */
export interface Outcome<T> {
  result: T;
  event: ConversationEvent | null;
}

/** Thrown inside a transaction to roll it back and still answer with `value` (a no-op). */
export class Unchanged<T> {
  constructor(readonly value: T) {}
}

/**
 * Runs `fn` in a transaction. Returning `new Unchanged(v)` rolls back (so a seq taken
 * speculatively is released) and yields `v` with changed = false: idempotent retries and
 * no-op requests leave no trace in the log.
 */
export async function transact<T>(store: Store, fn: (tx: Repos) => Promise<T | Unchanged<T>>): Promise<{ value: T; changed: boolean }> {
  try {
    const value = await store.transaction(async (tx) => {
      const result = await fn(tx);
      if (result instanceof Unchanged) throw result;
      return result;
    });
    return { value, changed: true };
  } catch (err) {
    if (err instanceof Unchanged) return { value: err.value as T, changed: false };
    throw err;
  }
}
