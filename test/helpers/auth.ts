import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, SignJWT } from 'jose';
import { type Harness, SECRET, uid } from './harness.ts';

export const enc = new TextEncoder();
export const nowSec = (): number => Math.floor(Date.now() / 1000);
export const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

export interface SignOpts {
  alg?: string;
  key?: CryptoKey | Uint8Array;
  kid?: string;
  /** null leaves `sub` out. */
  sub?: string | null;
  /** Absolute expiry in epoch seconds; null leaves `exp` out. Default: in an hour. */
  exp?: number | null;
  nbf?: number;
  claims?: Record<string, unknown>;
}

/** Signs a JWT exactly as told, so each test can break one thing at a time. */
export async function sign(opts: SignOpts = {}): Promise<string> {
  const alg = opts.alg ?? 'HS256';
  const jwt = new SignJWT(opts.claims ?? {}).setProtectedHeader({ alg, ...(opts.kid ? { kid: opts.kid } : {}) }).setIssuedAt();
  if (opts.sub !== null) jwt.setSubject(opts.sub ?? uid('jwt'));
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? nowSec() + 3600);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(opts.key ?? enc.encode(SECRET));
}

export interface Res {
  status: number;
  body: any;
}

/** One request with exactly the headers given (the harness clients always add their own auth). */
export async function call(h: Harness, method: string, url: string, opts: { token?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await h.app.http.inject({
    method: method as 'GET',
    url,
    headers,
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
}

export const me = (h: Harness, token: string): Promise<Res> => call(h, 'GET', '/v1/me', { token });

export function assertError(res: Res, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body?.error?.code, code);
  assert.equal(typeof res.body.error.message, 'string');
}

/** A JWKS endpoint on 127.0.0.1 with a request counter. */
export async function jwksServer(keys: JWK[]): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    hits: () => hits,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A port nothing listens on: bound then released. */
export async function deadPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
