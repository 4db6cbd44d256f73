import type { ServerEventName } from '../../protocol/events.ts';

/** One live client connection on this instance, whatever gateway it came through. */
export interface Connection {
  readonly id: string;
  readonly userId: string;
  readonly gateway: 'socketio' | 'ws';
  /** Queues an event. A connection too far behind disconnects itself (slow consumer). */
  emit(event: ServerEventName | 'ready', data: unknown): void;
}

/** The connections on this instance, by user: who to hand each event to. */
export function createHub() {
  const byUser = new Map<string, Set<Connection>>();
  let count = 0;
  return {
    add(c: Connection) {
      let set = byUser.get(c.userId);
      if (!set) {
        set = new Set();
        byUser.set(c.userId, set);
      }
      if (!set.has(c)) count++;
      set.add(c);
    },
    remove(c: Connection) {
      const set = byUser.get(c.userId);
      if (!set?.delete(c)) return;
      count--;
      if (set.size === 0) byUser.delete(c.userId);
    },
    of: (userId: string): ReadonlySet<Connection> => byUser.get(userId) ?? new Set(),
    get size() {
      return count;
    },
    /** Emits to every local connection of `userIds`, skipping those `skip` returns true for. */
    emitTo(userIds: Iterable<string>, event: ServerEventName, data: unknown, skip?: (c: Connection) => boolean) {
      for (const userId of userIds) {
        const set = byUser.get(userId);
        if (!set) continue;
        for (const c of set) if (!skip?.(c)) c.emit(event, data);
      }
    },
  };
}

export type Hub = ReturnType<typeof createHub>;
