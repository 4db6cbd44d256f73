import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid } from './helpers/harness.ts';

const ALLOWED = 'https://app.example';

describe('REST CORS (PARLEY_CORS_ORIGINS)', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await harness(pgliteBackend, { PARLEY_CORS_ORIGINS: `${ALLOWED},https://admin.example` });
    token = await tokenFor(uid());
  });
  after(() => h.close());

  const preflight = (app: Harness, origin: string, url = '/v1/conversations') =>
    app.app.http.inject({
      method: 'OPTIONS',
      url,
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  test('an allowed origin gets a working preflight: methods, bearer and JSON headers, no credentials', async () => {
    for (const url of ['/v1/conversations', '/v1/messages/6f1c0a52-6a57-4a8e-9b39-2d0f1f8f0c11/reactions/%F0%9F%91%8D']) {
      const res = await preflight(h, ALLOWED, url);
      assert.equal(res.statusCode, 204, url);
      assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
      assert.match(String(res.headers['access-control-allow-methods']), /\bPOST\b.*\bDELETE\b/);
      assert.match(String(res.headers['access-control-allow-headers']), /Authorization/);
      assert.match(String(res.headers['access-control-allow-headers']), /Content-Type/);
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
      assert.match(String(res.headers.vary), /Origin/);
    }
  });

  test('an allowed origin can read responses, errors included', async () => {
    const ok = await h.app.http.inject({ method: 'POST', url: '/v1/conversations', headers: { origin: ALLOWED, authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ kind: 'group', members: [], title: 'cors' }) });
    assert.equal(ok.statusCode, 201);
    assert.equal(ok.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(ok.headers['access-control-allow-credentials'], undefined);
    assert.match(String(ok.headers['access-control-expose-headers']), /Retry-After/);
    // A page must be able to read why it failed (401, 404), or it cannot react.
    const denied = await h.app.http.inject({ method: 'GET', url: '/v1/conversations', headers: { origin: ALLOWED } });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['access-control-allow-origin'], ALLOWED);
    const missing = await h.app.http.inject({ method: 'GET', url: '/v1/nowhere', headers: { origin: 'https://admin.example' } });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['access-control-allow-origin'], 'https://admin.example');
  });

  test('any other origin, or none, gets no CORS headers', async () => {
    const pre = await preflight(h, 'https://evil.example');
    assert.notEqual(pre.statusCode, 204);
    const get = await h.app.http.inject({ method: 'GET', url: '/v1/conversations', headers: { origin: 'https://evil.example', authorization: `Bearer ${token}` } });
    const none = await h.app.http.inject({ method: 'GET', url: '/v1/conversations', headers: { authorization: `Bearer ${token}` } });
    // Near misses: a prefix, another scheme, another port.
    const near = await Promise.all(
      ['https://app.example.evil.example', 'http://app.example', 'https://app.example:8443'].map((origin) => preflight(h, origin)),
    );
    for (const res of [pre, get, none, ...near]) {
      for (const header of Object.keys(res.headers)) assert.ok(!header.startsWith('access-control-'), `${header} sent`);
    }
    assert.equal(get.statusCode, 200);
  });

  test('`*` allows any origin, still without credentials', async () => {
    const open = await harness({ store: h.store }, { PARLEY_CORS_ORIGINS: '*' });
    try {
      const res = await preflight(open, 'https://anywhere.example');
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    } finally {
      await open.close();
    }
  });

  test('with no list, REST sends no CORS headers', async () => {
    const closed = await harness({ store: h.store }, {});
    try {
      const res = await preflight(closed, ALLOWED);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    } finally {
      await closed.close();
    }
  });
});
