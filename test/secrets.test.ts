import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Config, loadConfig } from '../src/config.ts';
import { withEmbeddedSecret, withEmbeddedVapid } from '../src/secrets.ts';
import { assertDeepFrozen } from './helpers/frozen.ts';
import { VAPID } from './helpers/harness.ts';

const SECRET = 'a-secret-of-at-least-32-characters-long';

describe('withEmbeddedSecret', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-secret-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const configIn = (dir: string, env: Record<string, string> = {}): Config => loadConfig({ PARLEY_DATA_DIR: dir, ...env });

  test('creates jwt-secret (mode 0600) on first call and returns the same secret after', () => {
    const dir = path.join(tmp, 'fresh', 'data'); // does not exist yet
    const first = withEmbeddedSecret(configIn(dir));
    const file = path.join(dir, 'jwt-secret');
    assert.ok(fs.existsSync(file));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(first.jwt.secret && first.jwt.secret.length >= 32, 'a strong secret');
    assert.equal(fs.readFileSync(file, 'utf8').trim(), first.jwt.secret);
    assert.deepEqual(first.jwt.algorithms, ['HS256']);
    // The rest of the config is untouched.
    assert.equal(first.dataDir, dir);
    assert.equal(first.port, 3000);

    const second = withEmbeddedSecret(configIn(dir));
    assert.equal(second.jwt.secret, first.jwt.secret);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    // Another data dir gets another secret.
    const other = withEmbeddedSecret(configIn(path.join(tmp, 'other')));
    assert.notEqual(other.jwt.secret, first.jwt.secret);
  });

  test('the config it returns is frozen, deeply', () => {
    const c = withEmbeddedSecret(configIn(path.join(tmp, 'frozen')));
    assert.ok(c.jwt.secret);
    assertDeepFrozen(c);
  });

  test('an empty or truncated jwt-secret file never yields a weak secret', () => {
    for (const content of ['', '\n', 'short\n']) {
      const dir = fs.mkdtempSync(path.join(tmp, 'bad-file-'));
      fs.writeFileSync(path.join(dir, 'jwt-secret'), content, { mode: 0o600 });
      let secret: string | null = null;
      try {
        secret = withEmbeddedSecret(configIn(dir)).jwt.secret;
      } catch {
        continue; // refusing to start with a clear error is fine too
      }
      assert.ok(secret && secret.length >= 32, `file ${JSON.stringify(content)} gave secret ${JSON.stringify(secret)}`);
    }
  });

  test('two processes starting at once end up with the same secret (no crash on EEXIST)', (t) => {
    const dir = path.join(tmp, 'race');
    const file = path.join(dir, 'jwt-secret');
    const theirs = 'secret-written-by-the-other-process-0123456789';
    const original = fs.readFileSync;
    let raced = false;
    // The other process creates the file between our failed read and our write.
    t.mock.method(fs, 'readFileSync', function (this: unknown, ...args: Parameters<typeof fs.readFileSync>) {
      if (!raced && args[0] === file) {
        raced = true;
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(file, `${theirs}\n`, { mode: 0o600 });
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' });
      }
      return original.apply(this, args);
    });
    const config = withEmbeddedSecret(configIn(dir));
    assert.ok(raced);
    assert.equal(config.jwt.secret, theirs);
  });

  test('does nothing when a secret is set', () => {
    const dir = path.join(tmp, 'with-secret');
    const config = configIn(dir, { PARLEY_JWT_SECRET: SECRET });
    assert.equal(withEmbeddedSecret(config), config);
    assert.equal(fs.existsSync(dir), false);
  });

  test('does nothing when DATABASE_URL is set', () => {
    const dir = path.join(tmp, 'with-db');
    // loadConfig refuses DATABASE_URL without a key source, so test both the real combination...
    const config = configIn(dir, { DATABASE_URL: 'postgres://db/parley', PARLEY_JWKS_URL: 'https://a.example/jwks' });
    assert.equal(withEmbeddedSecret(config), config);
    // ...and the DATABASE_URL check on its own.
    const bare: Config = { ...configIn(dir), databaseUrl: 'postgres://db/parley' };
    assert.equal(withEmbeddedSecret(bare), bare);
    assert.equal(bare.jwt.secret, null);
    assert.equal(fs.existsSync(dir), false);
  });

  test('does nothing when a JWKS URL is set', () => {
    const dir = path.join(tmp, 'with-jwks');
    const config = configIn(dir, { PARLEY_JWKS_URL: 'https://a.example/jwks' });
    assert.equal(withEmbeddedSecret(config), config);
    assert.equal(fs.existsSync(dir), false);
  });
});

describe('withEmbeddedVapid', () => {
  test('generates a VAPID key pair into the data dir once, then reuses it; configured keys win', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-vapid-'));
    try {
      const first = withEmbeddedVapid(loadConfig({ PARLEY_DATA_DIR: dir }));
      assert.equal(Buffer.from(first.push.vapid!.publicKey, 'base64url').length, 65);
      assert.equal(fs.statSync(path.join(dir, 'vapid.json')).mode & 0o777, 0o600);
      assert.deepEqual(withEmbeddedVapid(loadConfig({ PARLEY_DATA_DIR: dir })).push.vapid, first.push.vapid);
      const configured = loadConfig({ PARLEY_DATA_DIR: dir, PARLEY_VAPID_PUBLIC_KEY: VAPID.publicKey, PARLEY_VAPID_PRIVATE_KEY: VAPID.privateKey });
      assert.equal(withEmbeddedVapid(configured), configured);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('VAPID variables are checked: both or neither, right sizes, a mailto: or https: subject', () => {
    assert.throws(() => loadConfig({ PARLEY_VAPID_PUBLIC_KEY: VAPID.publicKey }), /go together/);
    assert.throws(() => loadConfig({ PARLEY_VAPID_PUBLIC_KEY: 'abc', PARLEY_VAPID_PRIVATE_KEY: VAPID.privateKey }), /65 bytes/);
    assert.throws(() => loadConfig({ PARLEY_VAPID_SUBJECT: 'me@example.com' }), /mailto/);
  });
});
