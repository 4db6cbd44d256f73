import { once } from 'node:events';
import net from 'node:net';

/**
 * A TCP proxy on a loopback port in front of a server, so a client keeps one URL while the
 * server behind it is killed and restarted on another port, and so a test can cut the
 * network: `block()` drops every connection and refuses new ones until `unblock()`.
 */
export async function tcpProxy(targetPort: number) {
  let target = targetPort;
  let blocked = false;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    accepted++;
    if (blocked) return void client.destroy();
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Connections accepted so far (refused ones included). */
    accepted: () => accepted,
    setTarget(p: number) {
      target = p;
    },
    block() {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    unblock() {
      blocked = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

export type TcpProxy = Awaited<ReturnType<typeof tcpProxy>>;
