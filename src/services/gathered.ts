/**
 * Gathers calls: those made before `schedule` runs its callback (by default, the event
 * loop's next turn) go to `load` together, as one call, and each gets its own answer.
 * Nothing is cached; a key asked for later is loaded again. What makes the device lookups of
 * a batch of device jobs, started side by side, one query (and, cached per request, a
 * GraphQL answer's lookups: gateways/graphql/loaders.ts).
 */
export function gathered<K, V>(load: (keys: K[]) => Promise<V[]>, schedule: (flush: () => void) => void = setImmediate): (key: K) => Promise<V> {
  let pending: { key: K; resolve: (v: V) => void; reject: (err: unknown) => void }[] | null = null;
  const flush = () => {
    const calls = pending!;
    pending = null;
    load(calls.map((c) => c.key)).then(
      (values) => {
        for (const [i, c] of calls.entries()) c.resolve(values[i]!);
      },
      (err: unknown) => {
        for (const c of calls) c.reject(err);
      },
    );
  };
  return (key) =>
    new Promise<V>((resolve, reject) => {
      if (!pending) {
        pending = [];
        schedule(flush);
      }
      pending.push({ key, resolve, reject });
    });
}
