import type { ServerEventName, ServerEvents } from '../../protocol/events.ts';

/** A gateway's name as it registers with the hub ('socketio', 'ws', 'graphql'…); the hub knows none by name. */
export type GatewayName = string;
export type EventName = ServerEventName;

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
export type Multicast = <E extends EventName>(connections: Connection[], event: E, data: ServerEvents[E]) => void;

/**
 * Told of every event written, once per gateway it went through: to how many of its
 * connections, which event, and when the change it carries was committed (ms since epoch),
 * for a conversation's event.
 */
export type Observer = (deliveries: number, gateway: GatewayName, event: EventName, data: unknown, committedAt: number | undefined) => void;

/** An event's connections as emitTo gathers them. */
interface Found {
  list: Connection[];
  /** The first connection's gateway (null: none yet). */
  gateway: GatewayName | null;
  /** Connections of more than one gateway. */
  mixed: boolean;
}

function gather(found: Found, own: Connection[] | undefined, skip: ((c: Connection) => boolean) | undefined) {
  if (!own) return;
  for (const c of own) {
    if (skip?.(c)) continue;
    found.list.push(c);
    if (found.gateway === null) found.gateway = c.gateway;
    else if (!found.mixed && c.gateway !== found.gateway) found.mixed = true;
  }
}

/**
 * The connections on this instance, by user: who to hand each event to. A user's are an
 * array (most have one or two), not a Set: a Set's table took about 300 bytes of each idle
 * connection's share (issue 9 prices 10,000 of them).
 */
export function createHub() {
  const byUser = new Map<string, Connection[]>();
  const multicast = new Map<GatewayName, Multicast>();
  const observers = new Set<Observer>();
  let count = 0;
  const send = (gateway: GatewayName, connections: Connection[], event: EventName, data: unknown, committedAt: number | undefined) => {
    multicast.get(gateway)?.(connections, event, data as never);
    for (const o of observers) o(connections.length, gateway, event, data, committedAt);
  };
  return {
    /** Called with the number of connections each event went to (metrics). */
    observe(observer: Observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    /** Each gateway registers how it sends; the hub only decides who receives. Returns the unregistration. */
    register(gateway: GatewayName, send: Multicast) {
      if (multicast.has(gateway)) throw new Error(`gateway ${gateway} is registered already`);
      multicast.set(gateway, send);
      return () => void multicast.delete(gateway);
    },
    add(c: Connection) {
      const list = byUser.get(c.userId);
      if (!list) byUser.set(c.userId, [c]);
      else if (!list.includes(c)) list.push(c);
      else return;
      count++;
    },
    remove(c: Connection) {
      const list = byUser.get(c.userId);
      const at = list ? list.indexOf(c) : -1;
      if (at < 0) return;
      count--;
      if (list!.length === 1) byUser.delete(c.userId);
      else list!.splice(at, 1);
    },
    of: (userId: string): ReadonlySet<Connection> => new Set(byUser.get(userId)),
    /** Whether the user has a connection here. */
    connected: (userId: string): boolean => byUser.has(userId),
    /** Users with a connection here (a resync goes to all of them). */
    userIds: (): Iterable<string> => byUser.keys(),
    /** Connections here, by gateway (operators' status, metrics). */
    countByGateway(): Record<GatewayName, number> {
      const counts: Record<GatewayName, number> = Object.fromEntries([...multicast.keys()].map((g) => [g, 0]));
      for (const list of byUser.values()) for (const c of list) counts[c.gateway] = (counts[c.gateway] ?? 0) + 1;
      return counts;
    },
    get size() {
      return count;
    },
    /**
     * Emits to every local connection of `userIds`, skipping those `skip` returns true for.
     * `committedAt`: when the change was committed, for the observers (delivery latency).
     */
    emitTo<E extends EventName>(userIds: Iterable<string>, event: E, data: ServerEvents[E], skip?: (c: Connection) => boolean, committedAt?: number) {
      // One list, split by gateway only when gateways mix: nearly every event goes to one,
      // and a Map with a list per gateway for each event was about 2% of what the server
      // allocated under load (issue 9).
      const found: Found = { list: [], gateway: null, mixed: false };
      // Arrays by index and anything else (a conversation's member Set) by for-of, each loop
      // seeing one kind: iterating both in one loop made a result object per member.
      if (Array.isArray(userIds)) for (let i = 0; i < userIds.length; i++) gather(found, byUser.get(userIds[i]), skip);
      else for (const userId of userIds) gather(found, byUser.get(userId), skip);
      const { list, gateway, mixed } = found;
      if (gateway === null) return;
      if (!mixed) return send(gateway, list, event, data, committedAt);
      const byGateway = new Map<GatewayName, Connection[]>();
      for (const c of list) {
        const of = byGateway.get(c.gateway);
        if (of) of.push(c);
        else byGateway.set(c.gateway, [c]);
      }
      for (const [g, connections] of byGateway) send(g, connections, event, data, committedAt);
    },
  };
}

export type Hub = ReturnType<typeof createHub>;
