// Guards around pg-boss 10: its completions that nobody awaits, and the deadlocks of a cluster creating its queues at once.
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

type Completion = (this: EventEmitter, ...args: unknown[]) => Promise<unknown>;

/**
 * pg-boss 10 settles a job with `complete()` / `fail()` without awaiting them once the
 * handler returns (src/manager.js, onFetch). When the database cannot be reached at that
 * moment (PostgreSQL restarting, the pool closed on shutdown) the rejection is unhandled,
 * and Node ends the process. Here each of those calls gets a handler: the failure goes to
 * the queue's `error` event (Parley logs it), and the job, still active, is picked up again
 * when it expires (at least once, as every delivery job is). Awaited calls still reject.
 */
export function guardPgBossCompletions(): void {
  const { prototype } = createRequire(import.meta.url)('pg-boss/src/manager.js') as { prototype: Record<string, Completion & { guarded?: true }> };
  for (const name of ['complete', 'fail']) {
    const original = prototype[name]!;
    if (original.guarded) continue;
    const guarded: Completion & { guarded?: true } = function (this: EventEmitter, ...args: unknown[]) {
      const settled = original.apply(this, args);
      settled.catch((err: unknown) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
      return settled;
    };
    guarded.guarded = true;
    // PgBoss exposes the manager's functions under their `name` (boss.fail, boss.complete).
    Object.defineProperty(guarded, 'name', { value: name });
    prototype[name] = guarded;
  }
}

/**
 * Instances of a cluster starting together on a new database create the same queues at
 * once, and PostgreSQL may pick one of them as a deadlock victim: that one tries again.
 */
export async function afterDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * (1 + Math.random())));
    }
  }
}
