import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { eventPacket, tickWriter } from '../src/gateways/socketio/write-per-tick.ts';
import { waitFor } from './helpers/harness.ts';

/**
 * The Socket.IO gateway writes an event straight to the TCP socket under a websocket
 * transport when engine.io holds nothing for the connection, and through engine.io's queue
 * otherwise (write-per-tick.ts). Whichever way each packet goes, the client must get them in
 * the order they were written, over websocket and over long-polling. A real Socket.IO server
 * and client; the server's writes mix the writer's events with Socket.IO's own emits.
 */
describe('Socket.IO: events written straight and through engine.io keep their order', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;
  const errors: unknown[] = [];
  const writer = tickWriter((err) => errors.push(err));
  before(async () => {
    http = createServer();
    io = new Server(http);
    io.engine.on('connection', (raw: unknown) => writer.attach(raw));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => io.close(() => resolve()));
    assert.deepEqual(errors, []);
  });

  for (const transport of ['websocket', 'polling'] as const) {
    test(`over ${transport}`, async () => {
      const client: ClientSocket = connect(url, { transports: [transport], reconnection: false, forceNew: true });
      const got: number[] = [];
      client.on('n', (n: number) => got.push(n));
      const [server] = await Promise.all([
        new Promise<ServerSocket>((resolve) => io.once('connection', resolve)),
        new Promise<void>((resolve) => client.once('connect', () => resolve())),
      ]);
      try {
        // One tick: straight, queued by Socket.IO, then (engine.io holds a packet) queued too;
        // a later tick: straight again, behind whatever the first tick left queued.
        let n = 0;
        writer.write(server.conn, eventPacket('n', ++n));
        server.emit('n', ++n);
        writer.write(server.conn, eventPacket('n', ++n));
        server.emit('n', ++n);
        await new Promise((resolve) => setImmediate(resolve));
        writer.write(server.conn, eventPacket('n', ++n));
        server.emit('n', ++n);
        await waitFor(() => got.length >= n, 10_000, 'every event').catch(() => {}); // the assertion says which are missing
        assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
        assert.equal(client.io.engine.transport.name, transport);
      } finally {
        client.close();
      }
    });

    test(`acks written by the writer keep their place among events, over ${transport}`, async () => {
      const client: ClientSocket = connect(url, { transports: [transport], reconnection: false, forceNew: true });
      const got: string[] = [];
      client.on('n', (n: number) => got.push(`event ${n}`));
      const [server] = await Promise.all([
        new Promise<ServerSocket>((resolve) => io.once('connection', resolve)),
        new Promise<void>((resolve) => client.once('connect', () => resolve())),
      ]);
      writer.writeAcks(server);
      try {
        // Each question is answered between events: one straight, then the ack (straight
        // while engine.io holds nothing), then one queued by Socket.IO and one queued behind it.
        let n = 0;
        server.on('q', (i: number, ack: (answer: unknown) => void) => {
          writer.write(server.conn, eventPacket('n', ++n));
          ack({ i });
          server.emit('n', ++n);
          writer.write(server.conn, eventPacket('n', ++n));
        });
        for (const i of [1, 2, 3]) client.emit('q', i, (answer: { i: number }) => got.push(`ack ${answer.i}`));
        await waitFor(() => got.length >= 12, 10_000, 'every event and ack').catch(() => {}); // the assertion says which are missing
        const expected = [1, 2, 3].flatMap((i) => [`event ${3 * i - 2}`, `ack ${i}`, `event ${3 * i - 1}`, `event ${3 * i}`]);
        assert.deepEqual(got, expected);
        assert.equal(client.io.engine.transport.name, transport);
      } finally {
        client.close();
      }
    });
  }
});
