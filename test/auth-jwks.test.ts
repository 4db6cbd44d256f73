import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair } from 'jose';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../src/storage/store.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { API_KEY, type Harness, harness, SECRET, tokenFor, uid } from './helpers/harness.ts';
import { assertError, call, deadPort, enc, jwksServer, me, nowSec, sign } from './helpers/auth.ts';

let store: Store;
before(async () => {
  store = await pgliteBackend.openStore();
});
after(() => store.close());


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
