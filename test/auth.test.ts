import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { Store } from '../src/storage/store.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { API_KEY, type Harness, harness, SECRET, tokenFor, uid } from './helpers/harness.ts';

const enc = new TextEncoder();
const nowSec = (): number => Math.floor(Date.now() / 1000);
const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

interface SignOpts {
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
async function sign(opts: SignOpts = {}): Promise<string> {
  const alg = opts.alg ?? 'HS256';
  const jwt = new SignJWT(opts.claims ?? {}).setProtectedHeader({ alg, ...(opts.kid ? { kid: opts.kid } : {}) }).setIssuedAt();
  if (opts.sub !== null) jwt.setSubject(opts.sub ?? uid('jwt'));
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? nowSec() + 3600);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(opts.key ?? enc.encode(SECRET));
}

interface Res {
  status: number;
  body: any;
}

/** One request with exactly the headers given (the harness clients always add their own auth). */
async function call(h: Harness, method: string, url: string, opts: { token?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Res> {
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

const me = (h: Harness, token: string): Promise<Res> => call(h, 'GET', '/v1/me', { token });

function assertError(res: Res, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body?.error?.code, code);
  assert.equal(typeof res.body.error.message, 'string');
}

/** A JWKS endpoint on 127.0.0.1 with a request counter. */
async function jwksServer(keys: JWK[]): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
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
async function deadPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

let store: Store;
before(async () => {
  store = await pgliteBackend.openStore();
});
after(() => store.close());

describe('JWT with an HS256 secret (default config)', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ store });
  });
  after(() => h.close());

  test('a valid HS256 token is accepted and names the caller', async () => {
    const id = uid('ana');
    const res = await me(h, await tokenFor(id));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.id, id);
  });

  test('the Bearer scheme is case-insensitive', async () => {
    const res = await call(h, 'GET', '/v1/me', { headers: { authorization: `bearer ${await tokenFor(uid())}` } });
    assert.equal(res.status, 200);
  });

  test('no Authorization header: 401 auth_required', async () => {
    assertError(await call(h, 'GET', '/v1/me'), 401, 'auth_required');
    assertError(await call(h, 'POST', '/v1/conversations', { body: { kind: 'group', members: [] } }), 401, 'auth_required');
  });

  test('a malformed Authorization header: 401', async () => {
    const token = await tokenFor(uid());
    for (const authorization of [token, `Basic ${token}`, 'Bearer', 'Bearer ', `Bearer ${token} extra`, `Token ${token}`]) {
      const res = await call(h, 'GET', '/v1/me', { headers: { authorization } });
      assert.equal(res.status, 401, `${authorization}: ${res.status}`);
      assert.match(res.body.error.code, /^(auth_required|token_invalid)$/);
    }
    for (const token of ['not-a-jwt', 'a.b.c', 'a.b', '...', 'ey.ey.ey']) assertError(await me(h, token), 401, 'token_invalid');
  });

  test('an expired token: 401 token_expired', async () => {
    assertError(await me(h, await sign({ exp: nowSec() - 60 })), 401, 'token_expired');
    assertError(await me(h, await sign({ exp: nowSec() - 10 })), 401, 'token_expired');
  });

  test('a token expired within the clock tolerance (5 s) is still accepted', async () => {
    const res = await me(h, await sign({ exp: nowSec() - 2 }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  test('a token not yet valid (nbf well in the future) is rejected', async () => {
    assertError(await me(h, await sign({ nbf: nowSec() + 600 })), 401, 'token_invalid');
  });

  test('a token without exp: 401 token_invalid', async () => {
    assertError(await me(h, await sign({ exp: null })), 401, 'token_invalid');
  });

  test('a token without sub: 401 token_invalid', async () => {
    assertError(await me(h, await sign({ sub: null })), 401, 'token_invalid');
  });

  test('a token whose sub is not a valid user id: 401 token_invalid', async () => {
    for (const sub of ['has space', 'x'.repeat(200), 'a/b', 'é', '']) {
      assertError(await me(h, await sign({ sub })), 401, 'token_invalid');
    }
    // A non-string sub, signed by hand (SignJWT only takes strings).
    const header = b64url({ alg: 'HS256' });
    const payload = b64url({ sub: 42, exp: nowSec() + 3600 });
    const sig = createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url');
    assertError(await me(h, `${header}.${payload}.${sig}`), 401, 'token_invalid');
  });

  test('a token signed with another secret: 401 token_invalid', async () => {
    assertError(await me(h, await tokenFor(uid(), {}, { secret: 'another-secret-that-is-long-enough-0123' })), 401, 'token_invalid');
  });

  test('an unsigned token (alg none) is rejected', async () => {
    const payload = b64url({ sub: uid(), exp: nowSec() + 3600 });
    for (const alg of ['none', 'None', 'NONE']) {
      const header = b64url({ alg, typ: 'JWT' });
      assertError(await me(h, `${header}.${payload}.`), 401, 'token_invalid');
      assertError(await me(h, `${header}.${payload}.c2ln`), 401, 'token_invalid');
    }
  });

  test('HS384 and HS512 are rejected when the allowlist is HS256, even with the right secret', async () => {
    for (const alg of ['HS384', 'HS512']) assertError(await me(h, await sign({ alg })), 401, 'token_invalid');
  });

  test('an RS256 token is rejected when no JWKS is configured', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    assertError(await me(h, await sign({ alg: 'RS256', key: privateKey, kid: 'k' })), 401, 'token_invalid');
  });
});

describe('JWT issuer and audience', () => {
  const ISSUER = 'https://auth.example.com/';
  const AUDIENCE = 'parley-api';
  let h: Harness;
  before(async () => {
    h = await harness({ store }, { PARLEY_JWT_ISSUER: ISSUER, PARLEY_JWT_AUDIENCE: AUDIENCE });
  });
  after(() => h.close());

  test('the right issuer and audience are accepted (audience may be an array)', async () => {
    assert.equal((await me(h, await sign({ claims: { iss: ISSUER, aud: AUDIENCE } }))).status, 200);
    assert.equal((await me(h, await sign({ claims: { iss: ISSUER, aud: ['other', AUDIENCE] } }))).status, 200);
  });

  test('a wrong or missing issuer is rejected', async () => {
    assertError(await me(h, await sign({ claims: { iss: 'https://evil.example.com/', aud: AUDIENCE } })), 401, 'token_invalid');
    assertError(await me(h, await sign({ claims: { aud: AUDIENCE } })), 401, 'token_invalid');
  });

  test('a wrong or missing audience is rejected', async () => {
    assertError(await me(h, await sign({ claims: { iss: ISSUER, aud: 'other' } })), 401, 'token_invalid');
    assertError(await me(h, await sign({ claims: { iss: ISSUER, aud: ['a', 'b'] } })), 401, 'token_invalid');
    assertError(await me(h, await sign({ claims: { iss: ISSUER } })), 401, 'token_invalid');
  });

  test('without PARLEY_JWT_ISSUER/AUDIENCE, iss and aud are not checked', async () => {
    const plain = await harness({ store });
    try {
      assert.equal((await me(plain, await sign({ claims: { iss: 'anyone', aud: 'anything' } }))).status, 200);
    } finally {
      await plain.close();
    }
  });
});

describe('JWT with a JWKS URL', () => {
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let rsa: CryptoKey;
  let ec: CryptoKey;
  let stranger: CryptoKey;
  let h: Harness;
  before(async () => {
    const rsaPair = await generateKeyPair('RS256');
    const ecPair = await generateKeyPair('ES256');
    rsa = rsaPair.privateKey;
    ec = ecPair.privateKey;
    stranger = (await generateKeyPair('RS256')).privateKey;
    jwks = await jwksServer([
      { ...(await exportJWK(rsaPair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ecPair.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ]);
    // PARLEY_JWT_SECRET '' removes the harness default: JWKS only.
    h = await harness({ store }, { PARLEY_JWKS_URL: jwks.url, PARLEY_JWT_SECRET: '' });
  });
  after(async () => {
    await h?.close();
    await jwks?.close();
  });

  test('an RS256 token signed by a published key is accepted', async () => {
    const id = uid('rs');
    const res = await me(h, await sign({ alg: 'RS256', key: rsa, kid: 'rsa-1', sub: id }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.id, id);
    assert.ok(jwks.hits() >= 1);
  });

  test('an ES256 token signed by a published key is accepted', async () => {
    const id = uid('es');
    const res = await me(h, await sign({ alg: 'ES256', key: ec, kid: 'ec-1', sub: id }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.id, id);
  });

  test('a token signed by an unknown key is rejected', async () => {
    assertError(await me(h, await sign({ alg: 'RS256', key: stranger, kid: 'unknown-kid' })), 401, 'token_invalid');
    // A known kid does not help a signature made with another key.
    assertError(await me(h, await sign({ alg: 'RS256', key: stranger, kid: 'rsa-1' })), 401, 'token_invalid');
    // Nor does a key of the wrong type for the kid.
    assertError(await me(h, await sign({ alg: 'ES256', key: ec, kid: 'rsa-1' })), 401, 'token_invalid');
  });

  test('an HS256 token is rejected when only a JWKS is configured', async () => {
    assertError(await me(h, await tokenFor(uid())), 401, 'token_invalid');
    assertError(await me(h, await sign({ alg: 'HS256', key: enc.encode(SECRET), kid: 'rsa-1' })), 401, 'token_invalid');
  });

  test('expiry is still enforced on JWKS tokens', async () => {
    assertError(await me(h, await sign({ alg: 'RS256', key: rsa, kid: 'rsa-1', exp: nowSec() - 60 })), 401, 'token_expired');
  });

  test('with both a secret and a JWKS, both kinds of token are accepted', async () => {
    const both = await harness({ store }, { PARLEY_JWKS_URL: jwks.url });
    try {
      assert.equal((await me(both, await tokenFor(uid()))).status, 200);
      assert.equal((await me(both, await sign({ alg: 'RS256', key: rsa, kid: 'rsa-1' }))).status, 200);
      assert.equal((await me(both, await sign({ alg: 'ES256', key: ec, kid: 'ec-1' }))).status, 200);
    } finally {
      await both.close();
    }
  });

  test('a JWKS server that is down gives 401 token_invalid, not 500', async () => {
    const port = await deadPort();
    const down = await harness({ store }, { PARLEY_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, PARLEY_JWT_SECRET: '' });
    try {
      assertError(await me(down, await sign({ alg: 'RS256', key: rsa, kid: 'rsa-1' })), 401, 'token_invalid');
      // And again (a cached failure must not turn into something else).
      assertError(await me(down, await sign({ alg: 'ES256', key: ec, kid: 'ec-1' })), 401, 'token_invalid');
    } finally {
      await down.close();
    }
  });

  test('a JWKS server answering garbage gives 401 token_invalid, not 500', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/500') res.writeHead(500).end('oops');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/json' ? '{"keys": 42}' : 'not json');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      for (const path of ['/500', '/json', '/text']) {
        const bad = await harness({ store }, { PARLEY_JWKS_URL: `http://127.0.0.1:${port}${path}`, PARLEY_JWT_SECRET: '' });
        try {
          assertError(await me(bad, await sign({ alg: 'RS256', key: rsa, kid: 'rsa-1' })), 401, 'token_invalid');
        } finally {
          await bad.close();
        }
      }
    } finally {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    }
  });
});

describe('profile from token claims', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ store });
  });
  after(() => h.close());

  test('name and picture claims create the profile', async () => {
    const id = uid('prof');
    const res = await me(h, await tokenFor(id, { name: 'Ana Lima', picture: 'https://img.example.com/ana.png' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.user, { id, name: 'Ana Lima', picture: 'https://img.example.com/ana.png' });
  });

  test('a later token with a new name updates it; one without picture keeps the stored picture', async () => {
    const id = uid('prof');
    await me(h, await tokenFor(id, { name: 'Ana', picture: 'https://img.example.com/1.png' }));
    const renamed = await me(h, await tokenFor(id, { name: 'Ana Maria' }));
    assert.deepEqual(renamed.body.user, { id, name: 'Ana Maria', picture: 'https://img.example.com/1.png' });
    // A token with no profile claims at all changes nothing.
    const bare = await me(h, await tokenFor(id));
    assert.deepEqual(bare.body.user, { id, name: 'Ana Maria', picture: 'https://img.example.com/1.png' });
    const repictured = await me(h, await tokenFor(id, { picture: 'https://img.example.com/2.png' }));
    assert.deepEqual(repictured.body.user, { id, name: 'Ana Maria', picture: 'https://img.example.com/2.png' });
  });

  test('the profile shows to other members of a conversation', async () => {
    const ana = uid('ana');
    const bob = uid('bob');
    await me(h, await tokenFor(bob, { name: 'Bob' }));
    const res = await call(h, 'POST', '/v1/conversations', { token: await tokenFor(ana, { name: 'Ana' }), body: { kind: 'direct', members: [bob] } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const names = Object.fromEntries(res.body.conversation.members.map((m: { userId: string; name: string }) => [m.userId, m.name]));
    assert.deepEqual(names, { [ana]: 'Ana', [bob]: 'Bob' });
  });

  test('unusable claims are ignored, never an error', async () => {
    const id = uid('prof');
    await me(h, await tokenFor(id, { name: 'Kept', picture: 'https://img.example.com/kept.png' }));
    for (const claims of [{ name: 'x'.repeat(201) }, { name: 42 }, { name: '' }, { name: 'nul\u0000byte' }, { picture: 'x'.repeat(3000) }, { picture: {} }]) {
      const res = await me(h, await tokenFor(id, claims));
      assert.equal(res.status, 200, `${JSON.stringify(claims).slice(0, 60)}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body.user, { id, name: 'Kept', picture: 'https://img.example.com/kept.png' });
    }
  });

  test('a picture claim that is not an http(s) URL is not stored (the admin API refuses it too)', async () => {
    const id = uid('prof');
    for (const picture of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'not a url']) {
      const res = await me(h, await tokenFor(id, { picture }));
      assert.equal(res.status, 200);
      assert.equal(res.body.user.picture, null, `stored picture ${JSON.stringify(res.body.user.picture)}`);
    }
    // The admin API applies the same rule.
    const admin = await call(h, 'PUT', `/v1/users/${id}`, { token: API_KEY, body: { picture: 'javascript:alert(1)' } });
    assertError(admin, 400, 'validation_failed');
  });
});

describe('admin API key', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ store });
  });
  after(() => h.close());

  test('PUT /v1/users/:id works with the API key', async () => {
    const id = uid('adm');
    const res = await h.admin().put(`/v1/users/${id}`, { name: 'Set by admin', picture: 'https://img.example.com/a.png' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.user, { id, name: 'Set by admin', picture: 'https://img.example.com/a.png' });
    // The user then sees it, and a token without profile claims keeps it.
    assert.deepEqual((await h.as(id).get('/v1/me')).body.user, { id, name: 'Set by admin', picture: 'https://img.example.com/a.png' });
    // null clears a field; omitted fields are kept.
    const cleared = await h.admin().put(`/v1/users/${id}`, { picture: null });
    assert.deepEqual(cleared.body.user, { id, name: 'Set by admin', picture: null });
  });

  test('PUT /v1/users/:id with a user JWT: 403 admin_required; with nothing: 401', async () => {
    const user = h.as(uid('usr'));
    assertError(await user.put(`/v1/users/${user.userId}`, { name: 'me' }), 403, 'admin_required');
    assertError(await user.put(`/v1/users/${uid()}`, { name: 'someone' }), 403, 'admin_required');
    assertError(await call(h, 'PUT', `/v1/users/${uid()}`, { body: { name: 'x' } }), 401, 'auth_required');
  });

  test('PUT /v1/users/:id validates the id and the body', async () => {
    assertError(await h.admin().put(`/v1/users/${encodeURIComponent('bad id')}`, { name: 'x' }), 400, 'validation_failed');
    assertError(await h.admin().put(`/v1/users/${uid()}`, { name: 'x', role: 'god' }), 400, 'validation_failed');
  });

  test('a user route with the key but no X-Parley-User: 400 acting_user_required', async () => {
    assertError(await h.admin().get('/v1/me'), 400, 'acting_user_required');
    assertError(await h.admin().post('/v1/conversations', { kind: 'group', members: [uid()] }), 400, 'acting_user_required');
    assertError(await h.admin().get('/v1/conversations'), 400, 'acting_user_required');
  });

  test('with X-Parley-User the call acts as that user', async () => {
    const acting = uid('acting');
    const other = uid('other');
    const admin = h.admin(acting);
    assert.equal((await admin.get('/v1/me')).body.user.id, acting);
    const res = await admin.post('/v1/conversations', { kind: 'group', members: [other], title: 'made by the server' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const { conversation } = res.body;
    const roles = Object.fromEntries(conversation.members.map((m: { userId: string; role: string }) => [m.userId, m.role]));
    assert.deepEqual(roles, { [acting]: 'owner', [other]: 'member' });
    // The acting user sees it as theirs.
    const list = await h.as(acting).get('/v1/conversations');
    assert.ok(list.body.conversations.some((c: { id: string }) => c.id === conversation.id));
    const msg = await admin.post(`/v1/conversations/${conversation.id}/messages`, { clientMsgId: 'srv-1', body: 'hi from the server' });
    assert.equal(msg.status, 201);
    assert.equal(msg.body.message.senderId, acting);
  });

  test('the admin key with X-Parley-User still passes membership checks', async () => {
    const owner = h.as(uid('own'));
    const id = await h.group(owner, [uid('m')]);
    assert.equal((await h.admin(uid('outsider')).get(`/v1/conversations/${id}`)).status, 404);
  });

  test('an invalid X-Parley-User: 400', async () => {
    for (const bad of ['has space', 'x'.repeat(200), 'a/b']) {
      const res = await h.admin().request('GET', '/v1/me', undefined, { 'x-parley-user': bad });
      assertError(res, 400, 'validation_failed');
    }
  });

  test('X-Parley-User is ignored with a user JWT (users cannot impersonate)', async () => {
    const me1 = uid('self');
    const victim = uid('victim');
    const res = await call(h, 'POST', '/v1/conversations', {
      token: await tokenFor(me1),
      headers: { 'x-parley-user': victim },
      body: { kind: 'group', members: [uid()], title: 't' },
    });
    assert.equal(res.status, 201);
    const owner = res.body.conversation.members.find((m: { role: string }) => m.role === 'owner');
    assert.equal(owner.userId, me1);
    assert.equal((await call(h, 'GET', '/v1/me', { token: await tokenFor(me1), headers: { 'x-parley-user': victim } })).body.user.id, me1);
  });

  test('a wrong API key is treated as a JWT and rejected 401', async () => {
    for (const key of [`${API_KEY}x`, API_KEY.slice(0, -1), API_KEY.toUpperCase(), 'another-admin-key-that-is-long']) {
      assertError(await call(h, 'PUT', `/v1/users/${uid()}`, { token: key, body: { name: 'x' } }), 401, 'token_invalid');
      assertError(await call(h, 'GET', '/v1/me', { token: key, headers: { 'x-parley-user': uid() } }), 401, 'token_invalid');
    }
  });

  test('with no API keys configured, nothing is an admin', async () => {
    const noKeys = await harness({ store }, { PARLEY_API_KEYS: '' });
    try {
      assertError(await call(noKeys, 'PUT', `/v1/users/${uid()}`, { token: API_KEY, body: { name: 'x' } }), 401, 'token_invalid');
    } finally {
      await noKeys.close();
    }
  });
});
