import net from 'node:net';

/**
 * A TCP proxy in front of a Redis that can wedge the pub/sub connections only: while
 * `hold` is on, what Redis sends to a connection that issued SSUBSCRIBE is kept back, so
 * the subscription carries nothing while commands (PING, SPUBLISH) on the other connections
 * still answer. That is the failure a readiness check must not call healthy. `hold(on, 'all')`
 * keeps back every connection's answers: a Redis that stops answering and stays connected.
 * `silence()` makes every connection open now carry nothing more, either way, for good, while
 * new ones work: a connection gone without a FIN or RST (a peer that died, a NAT that forgot it).
 * `pings()`: the PINGs each open connection has sent through it.
 */
export interface RedisProxy {
  url: string;
  hold(on: boolean, which?: 'subscribers' | 'all'): void;
  silence(): void;
  pings(): number[];
  close(): Promise<void>;
}

export async function startRedisProxy(redisPort: number): Promise<RedisProxy> {
  let held = false;
  let heldAll = false;
  const conns = new Set<{ client: net.Socket; upstream: net.Socket; subscriber: boolean; pending: Buffer[]; silent: boolean; pings: number }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, '127.0.0.1');
    const conn = { client, upstream, subscriber: false, pending: [] as Buffer[], silent: false, pings: 0 };
    conns.add(conn);
    const end = () => {
      conns.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      if (conn.silent) return;
      const text = d.toString('latin1');
      if (!conn.subscriber && /ssubscribe/i.test(text)) conn.subscriber = true;
      conn.pings += text.match(/\r\nPING\r\n/gi)?.length ?? 0;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (conn.silent) return;
      if (heldAll || (held && conn.subscriber)) conn.pending.push(d);
      else client.write(d);
    });
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    hold(on, which = 'subscribers') {
      if (which === 'all') heldAll = on;
      else held = on;
      if (on) return;
      for (const c of conns) for (const d of c.pending.splice(0)) c.client.write(d);
    },
    pings: () => [...conns].map((c) => c.pings),
    silence() {
      for (const c of conns) c.silent = true;
    },
    async close() {
      for (const c of conns) {
        c.client.destroy();
        c.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
