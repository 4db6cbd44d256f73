import { randomUUID } from 'node:crypto';
import { luaScript, type RedisClient } from './redis.ts';
import type { TypingStore } from './typing.ts';

// `typ:<conversation>|<user>`: { conn, sentAt, stamp }, kept twice the typing TTL (the
// instance that announced the start ends it on time; this only bounds what a killed
// instance leaves). `tconn:<connection>`: the marks a connection made.

const START = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'sentAt', 'conn')
local announce = (not cur[1]) or (tonumber(ARGV[2]) - tonumber(cur[1]) >= tonumber(ARGV[3]))
local sentAt = cur[1]
if announce then sentAt = ARGV[2] end
if cur[2] and cur[2] ~= ARGV[1] then redis.call('SREM', ARGV[7] .. 'tconn:' .. cur[2], ARGV[5]) end
redis.call('HSET', KEYS[1], 'conn', ARGV[1], 'sentAt', sentAt, 'stamp', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
if announce then return 1 end
return 0`);

/** Ends a mark (if ARGV[1] is set, only when its stamp is still ARGV[1]). */
const END = luaScript(`
local cur = redis.call('HMGET', KEYS[1], 'conn', 'stamp')
if not cur[1] then return 0 end
if ARGV[1] ~= '' and cur[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[2] .. 'tconn:' .. cur[1], ARGV[3])
return 1`);

const DROP_CONNECTION = luaScript(`
local out = {}
for _, mark in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. 'typ:' .. mark
  if redis.call('HGET', key, 'conn') == ARGV[1] then
    redis.call('DEL', key)
    table.insert(out, mark)
  end
end
redis.call('DEL', KEYS[1])
return out`);

export function createRedisTyping(client: RedisClient, prefix: string): TypingStore {
  const p = `${prefix}{typing}:`;
  const mark = (conversationId: string, userId: string) => `${conversationId}|${userId}`;
  const end = async (conversationId: string, userId: string, stamp: string) =>
    (await END(client, [`${p}typ:${mark(conversationId, userId)}`], [stamp, p, mark(conversationId, userId)])) === 1;
  return {
    async start(conversationId, userId, connectionId, now, opts) {
      const stamp = randomUUID();
      const m = mark(conversationId, userId);
      const announce = await START(client, [`${p}typ:${m}`, `${p}tconn:${connectionId}`], [connectionId, now, opts.resendMs, stamp, m, opts.ttlMs * 2, p]);
      return { announce: announce === 1, stamp };
    },
    stop: (conversationId, userId) => end(conversationId, userId, ''),
    expire: end,
    async dropConnection(connectionId) {
      const marks = (await DROP_CONNECTION(client, [`${p}tconn:${connectionId}`], [connectionId, p])) as string[];
      return marks.map((m) => {
        const at = m.indexOf('|'); // conversation ids are UUIDs; user ids may hold '|'
        return { conversationId: m.slice(0, at), userId: m.slice(at + 1) };
      });
    },
  };
}
