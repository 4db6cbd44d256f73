import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { generateKeyPair } from 'jose';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../src/storage/store.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { API_KEY, type Harness, harness, SECRET, tokenFor, uid } from './helpers/harness.ts';
import { assertError, b64url, call, me, nowSec, sign } from './helpers/auth.ts';

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
