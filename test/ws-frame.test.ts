import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { textFrame } from '../src/gateways/text-frame.ts';

/**
 * /v1/ws writes events as frames it built itself (src/gateways/text-frame.ts), straight to the
 * socket. The real `ws` client must read them as the text messages they hold, at every
 * length encoding (7-bit, 16-bit, 64-bit), interleaved with frames `ws` wrote itself.
 */
test('pre-framed text frames read as messages at every length encoding, in order with ws.send', async () => {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const served = new Promise<{ ws: WebSocket; socket: Duplex }>((resolve) => {
    http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => resolve({ ws, socket })));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  try {
    const lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];
    const expected: string[] = [];
    const received: string[] = [];
    const all = new Promise<void>((resolve, reject) => {
      client.on('message', (data, isBinary) => {
        if (isBinary) reject(new Error('a binary message'));
        received.push(data.toString());
        if (received.length === expected.length) resolve();
      });
      client.on('error', reject);
      client.on('close', (code) => reject(new Error(`closed ${code}`)));
    });
    const { ws, socket } = await served;
    for (const [i, n] of lengths.entries()) {
      // Multi-byte characters: the length is in bytes, not characters.
      const text = 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2);
      expected.push(text, `between ${i}`);
      socket.write(textFrame(text));
      ws.send(`between ${i}`);
    }
    await all;
    assert.equal(received.length, expected.length);
    for (const [i, text] of expected.entries()) assert.equal(received[i], text, `message ${i} (${Buffer.byteLength(text)} bytes)`);
  } finally {
    client.terminate();
    wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
});
