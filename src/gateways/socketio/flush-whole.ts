/** The part of engine.io's websocket transport this file reaches into (ws under it, and its TCP socket). */
interface WsTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

/**
 * engine.io sends a connection's first packet of a tick at once and queues the rest until
 * its write completes, then writes the queue a packet at a time: one write syscall each.
 * Corked around that loop, the queue leaves in one writev. Under load a batch of sends
 * brings a member several events in one tick: without this it was a write per event.
 */
export function writeFlushesWhole(transport: unknown) {
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
