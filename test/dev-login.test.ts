import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp, type App } from '../src/app.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { withEmbeddedSecret } from '../src/secrets.ts';
import type { Store } from '../src/storage/store.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { harness, SECRET } from './helpers/harness.ts';

const quiet = { LOG_LEVEL: 'silent', PARLEY_RATE_LIMIT: 'off' };

describe('PARLEY_DEV_LOGIN', () => {
  test('on by default only in embedded mode with a generated secret on a loopback host', () => {
    assert.equal(loadConfig({}).devLogin, true);
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) assert.equal(loadConfig({ HOST: host }).devLogin, true, host);
    const off: Record<string, string>[] = [
      { HOST: '0.0.0.0' },
      { HOST: '::' },
      { HOST: '192.168.1.10' },
      { PARLEY_JWT_SECRET: SECRET },
      { PARLEY_JWKS_URL: 'https://id.example/jwks.json' },
      { DATABASE_URL: 'postgres://db/parley', PARLEY_JWT_SECRET: SECRET },
      { PARLEY_DEV_LOGIN: '0' },
      { PARLEY_DEV_LOGIN: 'false' },
    ];
    for (const env of off) assert.equal(loadConfig(env).devLogin, false, JSON.stringify(env));
  });

  test('asking for it anywhere else is refused at start, as is a value that means nothing', () => {
    for (const env of [
      { PARLEY_DEV_LOGIN: '1', HOST: '0.0.0.0' },
      { PARLEY_DEV_LOGIN: '1', PARLEY_JWT_SECRET: SECRET },
      { PARLEY_DEV_LOGIN: 'yes' },
    ]) {
      assert.throws(() => loadConfig(env), (err) => err instanceof ConfigError && /PARLEY_DEV_LOGIN/.test(err.message), JSON.stringify(env));
    }
    assert.equal(loadConfig({ PARLEY_DEV_LOGIN: '1' }).devLogin, true);
  });
});

describe('POST /v1/dev/login where it exists', () => {
  let app: App;
  let store: Store;
  let dataDir: string;
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-dev-login-'));
    store = await pgliteBackend.openStore();
    app = await buildApp(withEmbeddedSecret(loadConfig({ ...quiet, PARLEY_DATA_DIR: dataDir })), { store });
    await app.http.ready();
  });
  after(async () => {
    await app.close();
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const login = (body: unknown, host = '127.0.0.1:3000') =>
    app.http.inject({ method: 'POST', url: '/v1/dev/login', headers: { host, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  test('hands out a token the API accepts, with the name as the profile', async () => {
    const res = await login({ userId: 'ana', name: 'Ana Lima' });
    assert.equal(res.statusCode, 200, res.body);
    const { token, expiresAt } = res.json();
    assert.ok(Date.parse(expiresAt) > Date.now() + 3600_000);
    const me = await app.http.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().user.id, 'ana');
    assert.equal(me.json().user.name, 'Ana Lima');
  });

  test('answers loopback host names only (no DNS rebinding), and checks its input', async () => {
    assert.equal((await login({ userId: 'ana' }, 'localhost:5173')).statusCode, 200);
    assert.equal((await login({ userId: 'ana' }, '[::1]:3000')).statusCode, 200);
    const rebound = await login({ userId: 'ana' }, 'attacker.example:3000');
    assert.equal(rebound.statusCode, 403);
    assert.equal(rebound.json().error.code, 'forbidden');
    for (const body of [{}, { userId: 'has space' }, { userId: 'ana', admin: true }, { userId: 'ana', name: '' }]) {
      const res = await login(body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().error.code, 'validation_failed');
    }
  });

  test('the page is told the sign-in exists', async () => {
    const page = await app.http.inject({ method: 'GET', url: '/' });
    assert.match(page.body, /&quot;devLogin&quot;:true/);
  });
});

test('with a configured secret the endpoint does not exist (404)', async () => {
  const h = await harness(pgliteBackend);
  try {
    const res = await h.app.http.inject({ method: 'POST', url: '/v1/dev/login', headers: { host: '127.0.0.1', 'content-type': 'application/json' }, payload: '{"userId":"ana"}' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'route_not_found');
    assert.match((await h.app.http.inject({ method: 'GET', url: '/' })).body, /&quot;devLogin&quot;:false/);
  } finally {
    await h.close();
  }
});
