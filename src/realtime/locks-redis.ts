import type { LockHolder, LockStore } from './locks.ts';
import { luaScript, type RedisClient } from './redis.ts';

// `lock:<message>` holds the holder as JSON and expires by itself (PX). Two indexes let a
// lock go with its holder: `lconn:<connection>` (the connection closed) and
// `lholder:<conversation>|<user>` (the user left). One hash tag: one slot on Redis
// Cluster, so each script stays atomic. Index entries of expired locks are dropped lazily.

const UNINDEX = `
local function unindex(prefix, h, id)
  redis.call('SREM', prefix .. 'lconn:' .. h.connectionId, id)
  redis.call('SREM', prefix .. 'lholder:' .. h.conversationId .. '|' .. h.userId, id)
end
`;

/** Takes or renews the lock unless another user holds it; answers that holder's JSON. */
const ACQUIRE = luaScript(`${UNINDEX}
local cur = redis.call('GET', KEYS[1])
if cur then
  local h = cjson.decode(cur)
  if h.userId ~= ARGV[2] then return cur end
  unindex(ARGV[4], h, ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
for i = 2, 3 do
  redis.call('SADD', KEYS[i], ARGV[3])
  redis.call('PEXPIRE', KEYS[i], ARGV[5])
end
return false`);

const RELEASE = luaScript(`${UNINDEX}
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local h = cjson.decode(cur)
if h.userId ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
unindex(ARGV[2], h, ARGV[3])
return 1`);

/** Releases the locks an index lists that still match (ARGV[3] = 'connection' or 'holder'); answers [id, json, ...]. */
const RELEASE_INDEXED = luaScript(`${UNINDEX}
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'lock:' .. id
  local cur = redis.call('GET', key)
  if cur then
    local h = cjson.decode(cur)
    local match
    if ARGV[2] == 'connection' then match = h.connectionId == ARGV[3] else match = (h.conversationId .. '|' .. h.userId) == ARGV[3] end
    if match then
      redis.call('DEL', key)
      unindex(ARGV[1], h, id)
      table.insert(out, id)
      table.insert(out, cur)
    end
  end
end
redis.call('DEL', KEYS[1])
return out`);

/** Edit locks shared by every instance; expiry is Redis's (PX), `now` only sets the TTL. */
export function createRedisLocks(client: RedisClient, prefix: string): LockStore {
  const p = `${prefix}{locks}:`;
  const lockKey = (id: string) => `${p}lock:${id}`;
  const connKey = (id: string) => `${p}lconn:${id}`;
  const holderKey = (conversationId: string, userId: string) => `${p}lholder:${conversationId}|${userId}`;
  const released = (flat: unknown) => {
    const list = flat as string[];
    const out: { messageId: string; holder: LockHolder }[] = [];
    for (let i = 0; i < list.length; i += 2) out.push({ messageId: list[i]!, holder: JSON.parse(list[i + 1]!) as LockHolder });
    return out;
  };
  return {
    async acquire(messageId, holder, now) {
      const ttl = Math.max(1, holder.expiresAt - now);
      const keys = [lockKey(messageId), connKey(holder.connectionId), holderKey(holder.conversationId, holder.userId)];
      const other = await ACQUIRE(client, keys, [JSON.stringify(holder), holder.userId, messageId, p, ttl]);
      return typeof other === 'string' ? { ok: false, holder: JSON.parse(other) as LockHolder } : { ok: true };
    },
    async release(messageId, userId) {
      return (await RELEASE(client, [lockKey(messageId)], [userId, p, messageId])) === 1;
    },
    async holder(messageId) {
      const raw = await client.get(lockKey(messageId));
      return raw ? (JSON.parse(raw) as LockHolder) : null;
    },
    releaseConnection: async (connectionId) => released(await RELEASE_INDEXED(client, [connKey(connectionId)], [p, 'connection', connectionId])),
    releaseHolder: async (conversationId, userId) =>
      released(await RELEASE_INDEXED(client, [holderKey(conversationId, userId)], [p, 'holder', `${conversationId}|${userId}`])),
  };
}
