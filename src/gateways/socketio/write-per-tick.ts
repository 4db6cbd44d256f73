import { atTickEnd } from '../tick-end.ts';

/** The parts of engine.io this file reaches into: a connection's flush and its transport. */
interface EngineSocket {
  flush(): void;
  transport: unknown;
  on(event: 'upgrade', listener: (transport: unknown) => void): void;
}
/** engine.io's websocket transport: ws under it, and its TCP socket. */
interface WsTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

/**
 * Makes each engine.io connection write its packets of one tick in one writev. Left alone,
 * engine.io flushes at every packet: the first is written at once and the rest wait until
 * that write completes, two writes at least where one would do (and the rest went one
 * syscall each). Here a connection's flush waits for the tick's end (tick-end.ts), so the
 * tick's packets reach the transport together, and the websocket transport's send of
 * several packets is corked around, so they leave in one writev. Nothing waits for a timer,
 * and engine.io's own flow (a transport that is not writable holds its queue until it
 * drains) is unchanged.
 */
export function tickWriter(onError: (err: unknown) => void) {
  const flushAtTickEnd = atTickEnd<() => void>((flush) => flush(), onError);
  return (connection: unknown) => {
    const conn = connection as EngineSocket;
    const flush = conn.flush.bind(conn);
    conn.flush = () => void flushAtTickEnd(flush);
    writeWhole(conn.transport);
    conn.on('upgrade', writeWhole);
  };
}

function writeWhole(transport: unknown) {
  const t = transport as WsTransport;
  const tcp = t.name === 'websocket' ? t.socket?._socket : undefined;
  if (!tcp) return;
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
