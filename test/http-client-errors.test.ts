import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ERRORS } from '../protocol/errors.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';

/**
 * Requests that fail in Node's HTTP parser, before Fastify routes them, still get the
 * catalogue's `{ error: { code, message } }` with the code's status, never Fastify's or
 * Node's own shape.
 */
describe('HTTP client errors', () => {
  let h: Harness;
  let port: number;
  let token: string;

  before(async () => {
    h = await harness(pgliteBackend);
    port = Number(new URL(await listen(h)).port);
    token = await tokenFor(uid('ana'));
  });
  after(() => h.close());

  /** Sends raw bytes and reads until the server closes (or answers and keeps the connection). */
  function raw(text: string): Promise<{ status: number; headers: string; body: any }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let out = '';
      const done = () => {
        const [head = '', ...rest] = out.split('\r\n\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        let body: unknown = rest.join('\r\n\r\n');
        try {
          body = JSON.parse(body as string);
        } catch {}
        resolve({ status, headers: head, body });
      };
      socket.on('data', (d) => {
        out += d;
        // A complete answer: headers and the announced body.
        const m = /content-length: (\d+)/i.exec(out);
        const split = out.indexOf('\r\n\r\n');
        if (m && split >= 0 && Buffer.byteLength(out.slice(split + 4)) >= Number(m[1])) {
          socket.destroy();
          done();
        }
      });
      socket.on('close', done);
      socket.on('error', reject);
      socket.write(text);
    });
  }

  const expectError = (res: { status: number; body: any }, code: keyof typeof ERRORS, what: string) => {
    assert.equal(res.status, ERRORS[code].status, `${what}: status ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body?.error?.code, code, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body.error.message, 'string');
    assert.deepEqual(Object.keys(res.body), ['error']);
  };

  test('malformed request lines, methods, Content-Length and framing: 400 malformed_request', async () => {
    const auth = `Authorization: Bearer ${token}\r\n`;
    const cases: Record<string, string> = {
      'an unknown method token': 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
      'a method with a bad character': 'GE(T / HTTP/1.1\r\nHost: x\r\n\r\n',
      'a space in the target': 'GET /he alth HTTP/1.1\r\nHost: x\r\n\r\n',
      'an unknown HTTP version': 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n',
      'not HTTP at all': 'hello\r\n\r\n',
      'a non-numeric Content-Length': `POST /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
      'a negative Content-Length': `POST /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n{}`,
      'two different Content-Lengths': `POST /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
      'Content-Length with Transfer-Encoding': `POST /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      'broken chunked framing': `POST /v1/conversations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      'a header line without a colon': 'GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n',
      'an HTTP/1.1 request without Host': 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n',
    };
    for (const [what, text] of Object.entries(cases)) expectError(await raw(text), 'malformed_request', what);
  });

  test('headers larger than the limit: 431 headers_too_large', async () => {
    expectError(await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 'headers_too_large', 'a 20 KB header');
    expectError(await raw(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 'headers_too_large', 'a 20 KB URL');
  });

  test('a request too slow to arrive: 408 request_timeout (the error Node raises on its request timeout)', async () => {
    const server = h.app.http.server;
    const answered = new Promise<{ status: number; body: any }>((resolve, reject) => {
      server.once('connection', (serverSide: net.Socket) => {
        // What Node's request-timeout check does to a connection whose request is late.
        setImmediate(() => server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), serverSide));
      });
      raw('POST /v1/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{').then(resolve, reject);
    });
    expectError(await answered, 'request_timeout', 'a half-sent body');
  });

  test('the server still answers afterwards', async () => {
    const res = await raw('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
  });
});
