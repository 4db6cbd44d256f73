import type { PresenceRecord, PresenceStore } from './presence.ts';

export function createMemoryPresence(): PresenceStore {
  const users = new Map<string, PresenceRecord>();
  const record = (userId: string): PresenceRecord => {
    let r = users.get(userId);
    if (!r) {
      r = { userId, connections: {}, chosen: 'online', customStatus: null, lastSeenAt: null };
      users.set(userId, r);
    }
    return r;
  };
  const live = (r: PresenceRecord) => Object.keys(r.connections).length > 0;
  const clone = (r: PresenceRecord): PresenceRecord => ({ ...r, connections: { ...r.connections } });

  async function connect(userId: string, connectionId: string, now: number) {
    const r = record(userId);
    const was = live(r);
    r.connections[connectionId] = now;
    return !was;
  }

  return {
    connect,
    async disconnect(userId, connectionId, now) {
      const r = users.get(userId);
      if (!r || !(connectionId in r.connections)) return false;
      delete r.connections[connectionId];
      if (live(r)) return false;
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
      return userIds.map((id) => clone(users.get(id) ?? { userId: id, connections: {}, chosen: 'online', customStatus: null, lastSeenAt: null }));
    },
    async connected(userIds) {
      const out = new Set<string>();
      for (const id of userIds) {
        const r = users.get(id);
        if (r && live(r)) out.add(id);
      }
      return out;
    },
    async sweep(staleBefore, now) {
      const gone: string[] = [];
      for (const r of users.values()) {
        if (!live(r)) continue;
        for (const [id, seen] of Object.entries(r.connections)) if (seen < staleBefore) delete r.connections[id];
        if (!live(r)) {
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
