import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { webAppRoutes } from '../src/gateways/http/web-app.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, testConfig } from './helpers/harness.ts';
import { ensureWebBuilt } from './helpers/web-build.ts';

const dist = ensureWebBuilt();
const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
let h: Harness;

before(async () => {
  h = await harness(pgliteBackend, { PARLEY_EMBED_ORIGINS: 'https://shop.example' });
});
after(() => h.close());

const get = (url: string, headers: Record<string, string> = {}) => h.app.http.inject({ method: 'GET', url, headers });
const script = (): string => {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  return /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
};

describe('the web app at /', () => {
  test('/ is the page, revalidated on every load, with its runtime config and a strict policy', async () => {
    const res = await get('/');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.ok(res.headers.etag);
    assert.match(res.body, /<div id="root">/);
    const meta = /<meta name="parley-config" content="([^"]+)">/.exec(res.body);
    assert.ok(meta, 'runtime config meta tag');
    assert.deepEqual(JSON.parse(meta[1]!.replace(/&quot;/g, '"')), { devLogin: false, embedOrigins: ['https://shop.example'] });
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'self' https:\/\/shop\.example/);
    const again = await get('/', { 'if-none-match': String(res.headers.etag) });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('client routes get the page when a browser asks for HTML; other clients keep JSON 404s', async () => {
    const page = await get('/c/0b0c4b2e-1111-4222-8333-444455556666', HTML);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<div id="root">/);
    assert.equal((await get('/preferences', HTML)).statusCode, 200);
    for (const url of ['/c/anything', '/nope']) {
      const res = await get(url);
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.code, 'route_not_found');
    }
    for (const url of ['/v1/unknown', '/assets/missing-0000.js', '/metrics/x', '/favicon.png']) {
      const res = await get(url, HTML);
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.code, 'route_not_found', url);
    }
    assert.equal((await get('/health', HTML)).json().status, 'ok');
    assert.equal((await h.app.http.inject({ method: 'POST', url: '/c/x', headers: HTML })).statusCode, 404);
  });

  test('hashed assets are cached for good and sent compressed as the client accepts', async () => {
    const url = script();
    const plain = await get(url);
    assert.equal(plain.statusCode, 200);
    assert.match(String(plain.headers['content-type']), /^text\/javascript/);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'accept-encoding');
    const br = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.ok(br.rawPayload.length < plain.rawPayload.length / 2);
    const gz = await get(url, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal((await get('/favicon.svg')).headers['cache-control'], 'no-cache');
    assert.equal((await h.app.http.inject({ method: 'HEAD', url })).statusCode, 200);
  });
});

test('without a build, / says how to build instead of failing', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-'));
  const app = Fastify();
  try {
    webAppRoutes(app, testConfig(), empty);
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /npm run build/);
  } finally {
    await app.close();
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
