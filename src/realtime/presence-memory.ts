import type { PresenceRecord, PresenceStore } from './presence.ts';

/**
 * A user's record as this store keeps it: the connections as one flat array of
 * `id, lastSeen` pairs, not the record's plain object. An object keyed by connection ids
 * gave V8 a new hidden class (and its descriptors) for every id it was given, and its
 * liveness was an Object.keys array, built for every recipient of every message
 * (connected()). A Map fixed that, but a Map of one connection is about 200 bytes of heap;
 * an array made as the pair's literal is about 80 (one pushed into an empty array is over
 * 200: V8 gives it room for 19 elements). A user has few enough connections that finding one
 * by a scan costs nothing.
 */
interface Held extends Omit<PresenceRecord, 'connections'> {
  connections: (string | number)[];
}

/** Where `connectionId` is in a record's pairs, or -1. */
function indexOf(pairs: (string | number)[], connectionId: string): number {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === connectionId) return i;
  return -1;
}

export function createMemoryPresence(): PresenceStore {
  const users = new Map<string, Held>();
  const record = (userId: string): Held => {
    let r = users.get(userId);
    if (!r) {
      r = { userId, connections: [], chosen: 'online', customStatus: null, lastSeenAt: null };
      users.set(userId, r);
    }
    return r;
  };
  const live = (r: Held) => r.connections.length > 0;
  const copy = (r: Held): PresenceRecord => {
    const connections: Record<string, number> = {};
    for (let i = 0; i < r.connections.length; i += 2) connections[r.connections[i] as string] = r.connections[i + 1] as number;
    return { ...r, connections };
  };

  async function connect(userId: string, connectionId: string, now: number) {
    const r = record(userId);
    const was = live(r);
    const i = indexOf(r.connections, connectionId);
    if (i >= 0) r.connections[i + 1] = now;
    else if (r.connections.length === 0) r.connections = [connectionId, now];
    else r.connections.push(connectionId, now);
    return !was;
  }

  return {
    connect,
    async disconnect(userId, connectionId, now) {
      const r = users.get(userId);
      const i = r ? indexOf(r.connections, connectionId) : -1;
      if (!r || i < 0) return false;
      r.connections.splice(i, 2);
      if (live(r)) return false;
      r.connections = []; // the record stays (last seen): not the room it grew
      r.lastSeenAt = new Date(now).toISOString();
      return true;
    },
    heartbeat: connect,
    async setStatus(userId, patch) {
      const r = record(userId);
      if (patch.status) r.chosen = patch.status;
      if (patch.customStatus !== undefined) r.customStatus = patch.customStatus;
    },
    async get(userIds) {
      return userIds.map((id) => {
        const r = users.get(id);
        return r ? copy(r) : { userId: id, connections: {}, chosen: 'online', customStatus: null, lastSeenAt: null };
      });
    },
    async connected(userIds) {
      const out = new Set<string>();
      for (const id of userIds) {
        const r = users.get(id);
        if (r && live(r)) out.add(id);
      }
      return out;
    },
    async allConnected(userIds) {
      for (const id of userIds) {
        const r = users.get(id);
        if (!r || !live(r)) return false;
      }
      return true;
    },
    async sweep(staleBefore, now) {
      const gone: string[] = [];
      for (const r of users.values()) {
        if (!live(r)) continue;
        const pairs = r.connections;
        for (let i = pairs.length - 2; i >= 0; i -= 2) if ((pairs[i + 1] as number) < staleBefore) pairs.splice(i, 2);
        if (!live(r)) {
          r.connections = [];
          r.lastSeenAt = new Date(now).toISOString();
          gone.push(r.userId);
        }
      }
      return gone;
    },
    async expireCustomStatuses(now) {
      const expired: string[] = [];
      for (const r of users.values()) {
        const at = r.customStatus?.expiresAt;
        if (at && Date.parse(at) <= now) {
          r.customStatus = null;
          expired.push(r.userId);
        }
      }
      return expired;
    },
    async online(limit) {
      const userIds = [...users.values()].filter(live).map((r) => r.userId);
      return { count: userIds.length, userIds: userIds.slice(0, limit) };
    },
  };
}
