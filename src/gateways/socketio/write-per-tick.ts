import { textFrame } from '../text-frame.ts';
import { atTickEnd, type TickKey } from '../tick-end.ts';

/** The TCP socket under engine.io's websocket transport (through ws). */
interface Tcp {
  cork(): void;
  uncork(): void;
  write(chunk: Buffer): boolean;
}
/** engine.io's websocket transport: ws under it, and its TCP socket. */
interface WsTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: Tcp };
}
/** The parts of an engine.io connection this file reaches into. */
interface EngineSocket {
  readyState: string;
  transport: unknown;
  /** Packets engine.io holds, written in order by its next flush. */
  writeBuffer: unknown[];
  flush(): void;
  write(data: string, options: object): void;
  on(event: 'upgrade', listener: (transport: unknown) => void): void;
}
/** A connection's end-of-tick work: engine.io's flush, then the uncork of what was written straight. */
interface Tick extends TickKey {
  flush: () => void;
  corked: Tcp | null;
}
const TICK = Symbol('parley.tick');
type Connection = EngineSocket & { [TICK]: Tick };

/** An event as engine.io takes it, and as the websocket transport writes it. */
export interface EventPacket {
  /** The Socket.IO packet: long-polling sends it as engine.io encodes any message. */
  data: string;
  /** The packet as an engine.io message (`4…`) in one text frame: what goes to a websocket. */
  frame: Buffer;
  /** For engine.io when the event waits in its queue: the same frame, which it writes as given. */
  options: { compress: boolean; wsPreEncodedFrame: Buffer[] };
}

/**
 * What a Socket.IO broadcast of `event` sends, built once for all its targets: an EVENT
 * packet of the main namespace (`2["event",data]`, Socket.IO protocol v5; our events are
 * JSON, never binary) and its websocket frame. `compress` is engine.io's default (it only
 * matters to long-polling's HTTP compression).
 */
export function eventPacket(event: string, data: unknown): EventPacket {
  return packetOf(`2${JSON.stringify([event, data])}`);
}

/**
 * The ACK packet of the main namespace for a command's `id` (`3<id>[…args]`, Socket.IO
 * protocol v5), as Socket.IO's ack callback would send it: our acks are JSON, never binary.
 */
function ackPacket(id: number, args: unknown[]): EventPacket {
  return packetOf(`3${id}${JSON.stringify(args)}`);
}

function packetOf(packet: string): EventPacket {
  const frame = textFrame(`4${packet}`);
  return { data: packet, frame, options: { compress: true, wsPreEncodedFrame: [frame] } };
}

const tcpOf = (transport: unknown): Tcp | undefined => {
  const t = transport as WsTransport;
  return t.name === 'websocket' ? t.socket?._socket : undefined;
};

/**
 * Writes each engine.io connection's packets of one tick in one writev, and events the
 * cheapest way there is.
 *
 * - engine.io flushes at every packet: it wrote the first at once and the rest when that
 *   write completed, two writes at least where one would do. Here a connection's flush
 *   waits for the tick's end (tick-end.ts), and the websocket transport's send of several
 *   packets is corked around. Nothing waits for a timer, and engine.io's own flow (a
 *   transport that is not writable holds its queue until it drains) is unchanged.
 * - An event for a connection on websocket with nothing in engine.io's queue goes straight
 *   to the TCP socket, framed once for all its targets, corked until the tick's end as
 *   `/v1/ws`'s writes are: skipping engine.io's packet objects, flush, events and write
 *   callbacks took 16% off the server's thread under load (README). Whatever engine.io
 *   holds (acks, pings, everything while the transport is stalled, long-polling, an upgrade
 *   not done) the event waits behind, in engine.io's queue: the order on the wire stays the
 *   order written. Nor can it pass a frame of ws's own: without permessage-deflate
 *   (engine.io's default, kept) ws writes each frame as it is sent and holds none back.
 *   What is written straight counts toward the slow-consumer bound like the rest (ws's
 *   bufferedAmount is the TCP socket's own queue).
 *
 * At the tick's end a connection's engine.io queue is flushed first and the TCP socket
 * uncorked after, so the tick's events and acks leave in one writev.
 */
export function tickWriter(onError: (err: unknown) => void) {
  const defer = atTickEnd<Tick>((tick) => {
    try {
      tick.flush();
    } finally {
      const tcp = tick.corked;
      tick.corked = null;
      tcp?.uncork();
    }
  }, onError);

  /** Writes an event to a connection taken over by `attach`. */
  const write = (connection: unknown, packet: EventPacket) => {
    const conn = connection as Connection;
    const tcp = conn.readyState === 'open' && conn.writeBuffer.length === 0 ? tcpOf(conn.transport) : undefined;
    if (!tcp) return conn.write(packet.data, packet.options);
    const tick = conn[TICK];
    if (!tick.corked) {
      tcp.cork();
      tick.corked = tcp;
    }
    defer(tick);
    tcp.write(packet.frame);
  };

  return {
    /** Takes over a new connection's flush (engine.io's 'connection'). */
    attach(connection: unknown) {
      const conn = connection as Connection;
      const tick: Tick = { flush: conn.flush.bind(conn), corked: null, atTickEnd: false };
      conn[TICK] = tick;
      conn.flush = () => void defer(tick);
      writeWhole(conn.transport);
      conn.on('upgrade', writeWhole);
    },
    /**
     * Makes a Socket.IO socket (of the main namespace, on a connection taken over by `attach`)
     * write its acks as events are written: framed once and straight to the TCP socket when
     * engine.io holds nothing for the connection. Socket.IO's own ack callback, which its
     * `onevent` makes through `Socket#ack` for every packet with an id, goes through its
     * encoder and engine.io's packet objects, flush, events and write callbacks, once per
     * command: `npm run bench:acks` measured about 5–10 µs of the server's CPU per command.
     */
    writeAcks(socket: { conn: unknown }) {
      (socket as unknown as { ack(id: number): (...args: unknown[]) => void }).ack = (id) => {
        let sent = false;
        return (...args) => {
          if (sent) return;
          sent = true;
          write(socket.conn, ackPacket(id, args));
        };
      };
    },
    write,
  };
}

function writeWhole(transport: unknown) {
  const tcp = tcpOf(transport);
  if (!tcp) return;
  const t = transport as WsTransport;
  const send = t.send.bind(t);
  t.send = (packets) => {
    if (packets.length === 1) return send(packets);
    tcp.cork();
    try {
      send(packets);
    } finally {
      tcp.uncork();
    }
  };
}
