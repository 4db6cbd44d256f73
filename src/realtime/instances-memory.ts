import type { InstanceInfo, InstanceRegistry } from './instances.ts';

export function createMemoryInstances(): InstanceRegistry {
  const all = new Map<string, InstanceInfo>();
  return {
    async beat(info, now) {
      all.set(info.id, { ...info, seenAt: new Date(now).toISOString() });
    },
    async list(staleBefore) {
      for (const [id, i] of all) if (Date.parse(i.seenAt) < staleBefore) all.delete(id);
      return [...all.values()];
    },
    async remove(id) {
      all.delete(id);
    },
  };
}
