import type { Hub } from '../realtime/hub.ts';
import type { InstanceRegistry } from '../realtime/instances.ts';

/**
 * Tells the other instances this one is alive, with its connection counts, every `everyMs`
 * (GET /v1/admin/status lists the instances heard from lately). Stopping removes it.
 */
export function startInstanceBeat(o: { instances: InstanceRegistry; id: string; hub: Hub; everyMs: number; onError(err: unknown): void }) {
  const startedAt = new Date().toISOString();
  const beat = () => o.instances.beat({ id: o.id, startedAt, connections: o.hub.countByGateway() }, Date.now()).catch(o.onError);
  void beat();
  const timer = setInterval(beat, o.everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await o.instances.remove(o.id).catch(() => {});
  };
}
