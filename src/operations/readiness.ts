import type { Realtime } from '../realtime/open.ts';
import type { Store } from '../storage/store.ts';

export interface Check {
  ok: boolean;
  detail: string;
}

/**
 * `ready`: every part works. `degraded`: this instance serves its clients, something shared
 * is down (Redis: cross-instance delivery waits for sync, rate limits count per instance;
 * the job queue: notifications wait). `not_ready` (503): take this instance out of
 * rotation (storage unreachable, shutting down, or a bus subscription that stopped
 * delivering while Redis itself answers: a wedged subscription must not look healthy).
 */
export interface Readiness {
  status: 'ready' | 'degraded' | 'not_ready';
  reasons: string[];
  checks: Record<string, Check>;
}

const CHECK_TIMEOUT_MS = 2000;

async function timed(what: () => Promise<Check>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Check>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([what().catch((err: unknown) => ({ ok: false, detail: String((err as Error)?.message ?? err).slice(0, 200) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function readinessCheck(deps: { store: Store; realtime: Realtime; draining: () => boolean; wedgedAfterMs: number }) {
  const { store, realtime } = deps;
  return async (): Promise<Readiness> => {
    const [storage, jobs, redis] = await Promise.all([
      timed(async () => ((await store.isReady()) ? { ok: true, detail: 'reachable and migrated' } : { ok: false, detail: 'unreachable or not migrated' })),
      timed(async () => {
        await store.jobs.status();
        return { ok: true, detail: 'running' };
      }),
      realtime.redis ? timed(() => realtime.redis!.ready()) : Promise.resolve(null),
    ]);
    const bus = realtime.bus.health();
    const checks: Record<string, Check> = { storage, jobs };
    if (redis) checks.redis = redis;
    checks.bus = { ok: bus.ok, detail: bus.detail };

    const fatal: string[] = [];
    const degraded: string[] = [];
    if (deps.draining()) fatal.push('shutting down');
    if (!storage.ok) fatal.push(`storage: ${storage.detail}`);
    if (!jobs.ok) degraded.push(`job queue: ${jobs.detail} (notifications wait)`);
    if (redis && !redis.ok) degraded.push(`redis: ${redis.detail} (cross-instance events wait for sync; rate limits count per instance)`);
    if (!bus.ok) {
      const wedged = redis?.ok && Date.now() - bus.since > deps.wedgedAfterMs;
      (wedged ? fatal : degraded).push(`bus subscription: ${bus.detail}${wedged ? ' while Redis answers (wedged)' : ''}`);
    }
    const status = fatal.length ? 'not_ready' : degraded.length ? 'degraded' : 'ready';
    return { status, reasons: [...fatal, ...degraded], checks };
  };
}
