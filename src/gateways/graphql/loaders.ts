/**
 * Batches the loads of one request: keys asked for while graphql-js resolves a level of
 * the answer (one synchronous pass, plus the promise jobs it queues) go to `load` as one
 * call, and each key is loaded once per request. What makes `conversations(first: 50)`
 * with every sender one query, not fifty.
 */
export function batchLoader<V>(load: (keys: string[]) => Promise<V[]>): (key: string) => Promise<V> {
  const cache = new Map<string, Promise<V>>();
  let batch: { keys: string[]; settle: { resolve: (v: V) => void; reject: (e: unknown) => void }[] } | null = null;

  const dispatch = async () => {
    const current = batch!;
    batch = null;
    try {
      const values = await load(current.keys);
      current.settle.forEach((s, i) => {
        s.resolve(values[i]!);
      });
    } catch (err) {
      for (const s of current.settle) s.reject(err);
    }
  };

  return (key) => {
    const hit = cache.get(key);
    if (hit) return hit;
    if (!batch) {
      batch = { keys: [], settle: [] };
      // After the promise jobs already queued, so loads they make join this batch.
      void Promise.resolve().then(() => process.nextTick(() => void dispatch()));
    }
    const b = batch;
    const promise = new Promise<V>((resolve, reject) => {
      b.keys.push(key);
      b.settle.push({ resolve, reject });
    });
    cache.set(key, promise);
    return promise;
  };
}
