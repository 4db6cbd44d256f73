import type { InstanceInfo, InstanceRegistry } from './instances.ts';
import type { RedisClient } from './redis.ts';

/** Instances in one Redis hash (id -> JSON); a reader drops the stale ones it finds. */
export function createRedisInstances(client: RedisClient, prefix: string): InstanceRegistry {
  const key = `${prefix}instances`;
  return {
    async beat(info, now) {
      await client.hSet(key, info.id, JSON.stringify({ ...info, seenAt: new Date(now).toISOString() }));
    },
    async list(staleBefore) {
      const all = Object.values((await client.hGetAll(key)) as Record<string, string>).map((raw) => JSON.parse(raw) as InstanceInfo);
      const stale = all.filter((i) => Date.parse(i.seenAt) < staleBefore).map((i) => i.id);
      if (stale.length) await client.hDel(key, stale);
      return all.filter((i) => Date.parse(i.seenAt) >= staleBefore).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    },
    async remove(id) {
      await client.hDel(key, id);
    },
  };
}
