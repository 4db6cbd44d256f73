import type { ServerEventName } from '../../protocol/events.ts';

export type GatewayName = 'socketio' | 'ws';
export type EventName = ServerEventName | 'ready';

/** One live client connection on this instance, whatever gateway it came through. */
export interface Connection {
  readonly id: string;
  readonly userId: string;
  readonly gateway: GatewayName;
}

/**
 * Sends one event to many connections of one gateway: encoded once, written to each.
 * A gateway drops connections that are too far behind (slow consumers) as it goes.
 */
export type Multicast = (connections: Connection[], event: EventName, data: unknown) => void;

/** The connections on this instance, by user: who to hand each event to. */
export function createHub() {
  const byUser = new Map<string, Set<Connection>>();
  const multicast = new Map<GatewayName, Multicast>();
  const observers = new Set<(deliveries: number) => void>();
  let count = 0;
  return {
    /** Called with the number of connections each event went to (metrics). */
    observe(observer: (deliveries: number) => void) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    /** Each gateway registers how it sends; the hub only decides who receives. */
    register(gateway: GatewayName, send: Multicast) {
      multicast.set(gateway, send);
    },
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
    emitTo(userIds: Iterable<string>, event: EventName, data: unknown, skip?: (c: Connection) => boolean) {
      const targets: Record<GatewayName, Connection[]> = { socketio: [], ws: [] };
      for (const userId of userIds) {
        const set = byUser.get(userId);
        if (!set) continue;
        for (const c of set) if (!skip?.(c)) targets[c.gateway].push(c);
      }
      for (const gateway of ['socketio', 'ws'] as const) {
        if (targets[gateway].length) multicast.get(gateway)?.(targets[gateway], event, data);
      }
      const total = targets.socketio.length + targets.ws.length;
      if (total) for (const o of observers) o(total);
    },
  };
}

export type Hub = ReturnType<typeof createHub>;
