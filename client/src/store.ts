/**
 * The one observable primitive of the SDK: a value, replaced (never mutated) on change,
 * with listeners. Shaped for React's useSyncExternalStore (`subscribe`, `get` as the
 * snapshot), and usable without React. Listeners run synchronously after each change; one
 * that throws is reported and does not stop the others.
 */
export interface ReadableStore<T> {
  get(): T;
  subscribe(listener: () => void): () => void;
}

export interface Store<T> extends ReadableStore<T> {
  set(next: T | ((current: T) => T)): void;
}

export function createStore<T>(initial: T, onListenerError: (err: unknown) => void = reportError): Store<T> {
  let value = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next) {
      const v = typeof next === 'function' ? (next as (c: T) => T)(value) : next;
      if (Object.is(v, value)) return;
      value = v;
      for (const l of [...listeners]) {
        try {
          l();
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function reportError(err: unknown): void {
  // Surfaced asynchronously, so a broken listener never breaks the SDK's own state update.
  setTimeout(() => {
    throw err;
  });
}

/** A copy of `record` with `key` set to `value` (or removed when `value` is undefined). */
export function withKey<V>(record: Readonly<Record<string, V>>, key: string, value: V | undefined): Record<string, V> {
  const next = { ...record };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}
