import type { CustomStatus } from '../domain/types.ts';
import type { PresenceRecord, PresenceStore } from './presence.ts';
import { luaScript, type RedisClient } from './redis.ts';

/** Connections swept per call: a sweep never holds Redis for long. */
const SWEEP_BATCH = 1000;

// Keys share the `{presence}` hash tag: on Redis Cluster they live in one slot, so each
// script below stays atomic and legal. Per user: `pc:<user>` (connection -> last sign of
// life), `ps:<user>` (chosen, custom, lastSeenAt; no TTL: a status outlives restarts).
// Shared: `pexp` (every "<user>\n<connection>" by last sign of life: what sweep walks),
// `online` (users with a connection), `cexp` (users by custom status expiry).

const CONNECT = luaScript(`
local had = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1] .. '\\n' .. ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
if had == 0 then return 1 end
return 0`);

const DISCONNECT = luaScript(`
redis.call('ZREM', KEYS[2], ARGV[1] .. '\\n' .. ARGV[2])
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], 'lastSeenAt', ARGV[3])
return 1`);

const SWEEP = luaScript(`
local gone = {}
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
for _, e in ipairs(entries) do
  local sep = string.find(e, '\\n', 1, true)
  local user = string.sub(e, 1, sep - 1)
  local conns = ARGV[3] .. 'pc:' .. user
  redis.call('ZREM', KEYS[1], e)
  if redis.call('ZREM', conns, string.sub(e, sep + 1)) == 1 and redis.call('ZCARD', conns) == 0 then
    redis.call('SREM', KEYS[2], user)
    redis.call('HSET', ARGV[3] .. 'ps:' .. user, 'lastSeenAt', ARGV[2])
    table.insert(gone, user)
  end
end
return gone`);

const EXPIRE_CUSTOM = luaScript(`
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, user in ipairs(users) do
  redis.call('ZREM', KEYS[1], user)
  redis.call('HDEL', ARGV[2] .. 'ps:' .. user, 'custom')
end
return users`);

/** Users whose connections one COUNTS call reads: each call holds Redis (one thread) only briefly. */
const COUNTED_PER_CALL = 1000;

const COUNTS = luaScript(`
local counts = {}
for i, key in ipairs(KEYS) do counts[i] = redis.call('ZCARD', key) end
return counts`);

/** Presence shared by every instance through Redis; same contract as the memory store. */
export function createRedisPresence(client: RedisClient, prefix: string): PresenceStore {
  const p = `${prefix}{presence}:`;
  const k = { conns: (u: string) => `${p}pc:${u}`, status: (u: string) => `${p}ps:${u}`, expiry: `${p}pexp`, online: `${p}online`, custom: `${p}cexp` };

  /**
   * Each user's live connections: one script per COUNTED_PER_CALL users. The dispatcher asks
   * this of every recipient of a drain's messages (about a thousand at 20,000 deliveries/s);
   * as a ZCARD each, node-redis armed a 5 s timeout per command whose firing built an
   * abort error long after the answer: with the bus's publishes, about a sixth of a cluster
   * instance's CPU.
   */
  const connectionCounts = async (userIds: string[]): Promise<number[]> => {
    const chunks: string[][] = [];
    for (let i = 0; i < userIds.length; i += COUNTED_PER_CALL) chunks.push(userIds.slice(i, i + COUNTED_PER_CALL).map(k.conns));
    return (await Promise.all(chunks.map((keys) => COUNTS(client, keys, []) as Promise<number[]>))).flat();
  };

  const connect = async (userId: string, connectionId: string, now: number) =>
    (await CONNECT(client, [k.conns(userId), k.expiry, k.online], [userId, connectionId, now])) === 1;

  return {
    connect,
    heartbeat: connect,
    async disconnect(userId, connectionId, now) {
      const keys = [k.conns(userId), k.expiry, k.online, k.status(userId)];
      return (await DISCONNECT(client, keys, [userId, connectionId, new Date(now).toISOString()])) === 1;
    },
    async setStatus(userId, patch) {
      const key = k.status(userId);
      const m = client.multi();
      if (patch.status) m.hSet(key, 'chosen', patch.status);
      if (patch.customStatus === null) m.hDel(key, 'custom').zRem(k.custom, userId);
      else if (patch.customStatus) {
        m.hSet(key, 'custom', JSON.stringify(patch.customStatus));
        const at = patch.customStatus.expiresAt;
        if (at) m.zAdd(k.custom, { score: Date.parse(at), value: userId });
        else m.zRem(k.custom, userId);
      }
      await m.exec();
    },
    // One pipeline: a query of 200 users (GET /v1/presence, presence:get) is 400 commands in
    // one write and one round trip. As a script it cost this process a little less and Redis,
    // the one thread every instance shares, twice as much (npm run bench:redis).
    async get(userIds) {
      const m = client.multi();
      for (const u of userIds) m.zRangeWithScores(k.conns(u), 0, -1).hGetAll(k.status(u));
      const replies = (await m.execAsPipeline()) as unknown[];
      return userIds.map((userId, i): PresenceRecord => {
        const conns = replies[2 * i] as { value: string; score: number }[];
        const s = replies[2 * i + 1] as Record<string, string>;
        return {
          userId,
          connections: Object.fromEntries(conns.map((c) => [String(c.value), c.score])),
          chosen: (s.chosen as PresenceRecord['chosen'] | undefined) ?? 'online',
          customStatus: s.custom ? (JSON.parse(s.custom) as CustomStatus) : null,
          lastSeenAt: s.lastSeenAt ?? null,
        };
      });
    },
    async connected(userIds) {
      const counts = await connectionCounts(userIds);
      return new Set(userIds.filter((_, i) => counts[i]! > 0));
    },
    async allConnected(userIds) {
      return (await connectionCounts([...new Set(userIds)])).every((n) => n > 0);
    },
    async sweep(staleBefore, now) {
      return (await SWEEP(client, [k.expiry, k.online], [staleBefore, new Date(now).toISOString(), p, SWEEP_BATCH])) as string[];
    },
    async expireCustomStatuses(now) {
      return (await EXPIRE_CUSTOM(client, [k.custom], [now, p])) as string[];
    },
    async online(limit) {
      const count = await client.sCard(k.online);
      const userIds = count <= limit ? await client.sMembers(k.online) : await client.sRandMemberCount(k.online, limit);
      return { count, userIds: userIds.map(String) };
    },
  };
}
