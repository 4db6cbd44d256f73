import { gathered } from '../../services/gathered.ts';

/**
 * Batches the loads of one request: keys asked for while graphql-js resolves a level of
 * the answer (one synchronous pass, plus the promise jobs it queues) go to `load` as one
 * call, and each key is loaded once per request. What makes `conversations(first: 50)`
 * with every sender one query, not fifty.
 */
export function batchLoader<V>(load: (keys: string[]) => Promise<V[]>): (key: string) => Promise<V> {
  const cache = new Map<string, Promise<V>>();
  // After the promise jobs already queued, so loads they make join this batch.
  const gather = gathered(load, (flush) => void Promise.resolve().then(() => process.nextTick(flush)));
  return (key) => {
    const hit = cache.get(key);
    if (hit) return hit;
    const promise = gather(key);
    cache.set(key, promise);
    return promise;
  };
}
