import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Config, ConfigError, loadConfig, parseRateLimit } from '../src/config.ts';
import { withEmbeddedSecret, withEmbeddedVapid } from '../src/secrets.ts';
import { VAPID } from './helpers/harness.ts';

const SECRET = 'a-secret-of-at-least-32-characters-long';

/** The ConfigError loadConfig throws for `env` (fails if it does not throw one). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    assert.ok(Array.isArray(err.problems));
    for (const p of err.problems) assert.ok(err.message.includes(p), 'the message lists every problem');
    return err.problems;
  }
  assert.fail(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

/** Asserts exactly one problem, mentioning `name`. */
function assertOneProblem(env: Record<string, string>, name: string | RegExp): void {
  const problems = problemsOf(env);
  assert.equal(problems.length, 1, problems.join('; '));
  assert.match(problems[0]!, typeof name === 'string' ? new RegExp(name) : name);
}

function assertDeepFrozen(value: unknown, where = 'config'): void {
  if (!value || typeof value !== 'object') return;
  assert.ok(Object.isFrozen(value), `${where} is not frozen`);
  for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${where}.${k}`);
}

describe('loadConfig', () => {
  test('defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 3000);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.ok(path.isAbsolute(c.dataDir));
    assert.equal(c.databaseUrl, null);
    assert.deepEqual(c.rateLimit, { points: 30, durationSec: 10 });
    assert.deepEqual(c.jwt, { secret: null, jwksUrl: null, issuer: null, audience: null, algorithms: ['HS256'], clockToleranceSec: 5 });
    assert.deepEqual(c.apiKeys, []);
    assert.deepEqual(c.corsOrigins, []);
    assert.equal(c.syncLimit, 5000);
    assert.equal(c.bodyLimitBytes, 256 * 1024);
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.realtime, { lockTtlMs: 300_000, pingIntervalMs: 25_000, maxBufferedBytes: 4 * 1024 * 1024, presenceStaleMs: 90_000 });
  });

  test('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      PARLEY_DATA_DIR: '/var/lib/parley',
      DATABASE_URL: 'postgres://u:p@db:5432/parley',
      PARLEY_JWT_SECRET: SECRET,
      PARLEY_JWKS_URL: 'https://auth.example.com/.well-known/jwks.json',
      PARLEY_JWT_ISSUER: 'https://auth.example.com/',
      PARLEY_JWT_AUDIENCE: 'parley',
      PARLEY_JWT_CLOCK_TOLERANCE: '30',
      PARLEY_API_KEYS: ' key-one-0123456789abcdef , key-two-0123456789abcdef ,',
      PARLEY_CORS_ORIGINS: 'https://app.example.com,https://admin.example.com',
      PARLEY_RATE_LIMIT: '100/1m',
      PARLEY_SYNC_LIMIT: '1000',
      LOG_LEVEL: 'debug',
    });
    assert.equal(c.port, 8080);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.dataDir, '/var/lib/parley');
    assert.equal(c.databaseUrl, 'postgres://u:p@db:5432/parley');
    assert.deepEqual(c.jwt, {
      secret: SECRET,
      jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
      issuer: 'https://auth.example.com/',
      audience: 'parley',
      algorithms: ['HS256', 'RS256', 'ES256'],
      clockToleranceSec: 30,
    });
    assert.deepEqual(c.apiKeys, ['key-one-0123456789abcdef', 'key-two-0123456789abcdef']);
    assert.deepEqual(c.corsOrigins, ['https://app.example.com', 'https://admin.example.com']);
    assert.deepEqual(c.rateLimit, { points: 100, durationSec: 60 });
    assert.equal(c.syncLimit, 1000);
    assert.equal(c.logLevel, 'debug');
  });

  test('delivery: push channels, email, jobs; defaults and every variable', () => {
    const d = loadConfig({});
    assert.deepEqual(
      { apns: d.push.apns, fcm: d.push.fcm, expo: d.push.expo, when: d.push.when, coalesceMs: d.push.coalesceMs },
      { apns: null, fcm: null, expo: { endpoint: 'https://exp.host/--/api/v2/push/send', accessToken: null, receiptDelaySeconds: 900 }, when: 'offline', coalesceMs: 3000 },
    );
    assert.deepEqual(d.email, { smtpUrl: null, from: 'Parley <parley@localhost>', digestIntervalMinutes: 30, appUrl: null });
    assert.deepEqual(d.jobs, { retryLimit: 5, retryDelaySeconds: 5, expireSeconds: 60, maintenanceSeconds: 30, pollSeconds: 2 });
    const c = loadConfig({
      PARLEY_APNS_KEY_ID: 'ABC123DEFG',
      PARLEY_APNS_TEAM_ID: 'TEAM123456',
      PARLEY_APNS_KEY_FILE: '/etc/parley/apns.p8',
      PARLEY_APNS_BUNDLE_ID: 'com.example.app',
      PARLEY_APNS_ENDPOINT: 'https://api.sandbox.push.apple.com',
      PARLEY_FCM_SERVICE_ACCOUNT_FILE: '/etc/parley/fcm.json',
      PARLEY_EXPO_ACCESS_TOKEN: 'expo-token',
      PARLEY_EXPO_RECEIPT_DELAY_SECONDS: '60',
      PARLEY_PUSH_WHEN: 'always',
      PARLEY_PUSH_COALESCE_MS: '0',
      PARLEY_SMTP_URL: 'smtps://u:p@mail.example.com:465',
      PARLEY_EMAIL_FROM: 'Chat <chat@example.com>',
      PARLEY_DIGEST_INTERVAL_MINUTES: '0',
      PARLEY_APP_URL: 'https://chat.example.com/',
      PARLEY_JOB_RETRY_LIMIT: '8',
      PARLEY_JOB_RETRY_DELAY_SECONDS: '10',
      PARLEY_JOB_EXPIRE_SECONDS: '120',
      PARLEY_JOB_MAINTENANCE_SECONDS: '15',
      PARLEY_JOB_POLL_SECONDS: '1',
    });
    assert.deepEqual(c.push.apns, { keyId: 'ABC123DEFG', teamId: 'TEAM123456', keyFile: '/etc/parley/apns.p8', bundleId: 'com.example.app', endpoint: 'https://api.sandbox.push.apple.com' });
    assert.deepEqual(c.push.fcm, { serviceAccountFile: '/etc/parley/fcm.json', endpoint: null });
    assert.equal(c.push.expo.accessToken, 'expo-token');
    assert.equal(c.push.expo.receiptDelaySeconds, 60);
    assert.equal(c.push.when, 'always');
    assert.equal(c.push.coalesceMs, 0);
    assert.deepEqual(c.email, { smtpUrl: 'smtps://u:p@mail.example.com:465', from: 'Chat <chat@example.com>', digestIntervalMinutes: 0, appUrl: 'https://chat.example.com' });
    assert.deepEqual(c.jobs, { retryLimit: 8, retryDelaySeconds: 10, expireSeconds: 120, maintenanceSeconds: 15, pollSeconds: 1 });
  });

  test('delivery variables that cannot work are reported', () => {
    assertOneProblem({ PARLEY_APNS_KEY_ID: 'ABC123DEFG' }, /APNs needs all of/);
    assertOneProblem({ PARLEY_PUSH_WHEN: 'sometimes' }, /PARLEY_PUSH_WHEN/);
    assertOneProblem({ PARLEY_SMTP_URL: 'http://mail.example.com' }, /PARLEY_SMTP_URL must use smtp: or smtps:/);
    assertOneProblem({ PARLEY_EMAIL_FROM: 'a@b.c\r\nBcc: x@y.z' }, /PARLEY_EMAIL_FROM/);
    assertOneProblem({ PARLEY_JOB_RETRY_LIMIT: '100' }, /PARLEY_JOB_RETRY_LIMIT/);
    assertOneProblem({ PARLEY_APNS_ENDPOINT: 'http://api.push.apple.com' }, /PARLEY_APNS_ENDPOINT must use https:/);
  });

  test('algorithm allowlist follows the key sources, or PARLEY_JWT_ALGORITHMS', () => {
    assert.deepEqual(loadConfig({ PARLEY_JWT_SECRET: SECRET }).jwt.algorithms, ['HS256']);
    assert.deepEqual(loadConfig({ PARLEY_JWKS_URL: 'https://a.example/jwks' }).jwt.algorithms, ['RS256', 'ES256']);
    assert.deepEqual(loadConfig({ PARLEY_JWT_SECRET: SECRET, PARLEY_JWT_ALGORITHMS: 'HS512' }).jwt.algorithms, ['HS512']);
    assertOneProblem({ PARLEY_JWT_ALGORITHMS: 'HS256,none' }, /PARLEY_JWT_ALGORITHMS.*none/);
  });

  test('an empty variable counts as unset', () => {
    const c = loadConfig({ PORT: '', HOST: '', PARLEY_JWT_SECRET: '', PARLEY_JWKS_URL: '', DATABASE_URL: '', PARLEY_JWT_ISSUER: '', PARLEY_API_KEYS: '' });
    assert.equal(c.port, 3000);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.jwt.secret, null);
    assert.equal(c.jwt.jwksUrl, null);
    assert.equal(c.databaseUrl, null);
    assert.equal(c.jwt.issuer, null);
    assert.deepEqual(c.apiKeys, []);
  });

  test('every bad variable is reported at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      PARLEY_RATE_LIMIT: 'fast',
      PARLEY_JWT_SECRET: 'short',
      PARLEY_JWKS_URL: 'ftp://keys.example.com/jwks',
      PARLEY_API_KEYS: 'tiny',
      PARLEY_SYNC_LIMIT: '1',
      PARLEY_JWT_CLOCK_TOLERANCE: '-1',
      DATABASE_URL: 'mysql://db/parley',
    });
    for (const name of [
      'PORT',
      'LOG_LEVEL',
      'PARLEY_RATE_LIMIT',
      'PARLEY_JWT_SECRET',
      'PARLEY_JWKS_URL',
      'PARLEY_API_KEYS',
      'PARLEY_SYNC_LIMIT',
      'PARLEY_JWT_CLOCK_TOLERANCE',
      'DATABASE_URL',
    ]) {
      assert.ok(
        problems.some((p) => p.startsWith(name)),
        `no problem reported for ${name}: ${problems.join('; ')}`,
      );
    }
    assert.equal(problems.length, 9, problems.join('; '));
  });

  test('DATABASE_URL with neither a secret nor a JWKS URL is an error', () => {
    assertOneProblem({ DATABASE_URL: 'postgres://db/parley' }, /DATABASE_URL.*PARLEY_JWT_SECRET or PARLEY_JWKS_URL/);
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db/parley', PARLEY_JWT_SECRET: SECRET }).databaseUrl, 'postgres://db/parley');
    assert.equal(loadConfig({ DATABASE_URL: 'postgresql://db/parley', PARLEY_JWKS_URL: 'https://a.example/jwks' }).jwt.secret, null);
  });

  test('a short secret is an error', () => {
    assertOneProblem({ PARLEY_JWT_SECRET: 'x'.repeat(31) }, /PARLEY_JWT_SECRET.*32/);
    assert.equal(loadConfig({ PARLEY_JWT_SECRET: 'x'.repeat(32) }).jwt.secret, 'x'.repeat(32));
  });

  test('a bad LOG_LEVEL is an error', () => {
    for (const level of ['loud', 'INFO', 'warning']) assertOneProblem({ LOG_LEVEL: level }, /^LOG_LEVEL/);
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) assert.equal(loadConfig({ LOG_LEVEL: level }).logLevel, level);
  });

  test('a bad PORT is an error', () => {
    for (const port of ['abc', '-1', '65536', '70000', '3.5', '1e3x']) assertOneProblem({ PORT: port }, /^PORT/);
    // A blank value must not turn into port 0 (a random port): it is either unset or an error.
    for (const port of [' ', '\t']) {
      let chosen: number | null = null;
      try {
        chosen = loadConfig({ PORT: port }).port;
      } catch (err) {
        assert.ok(err instanceof ConfigError);
      }
      assert.ok(chosen === null || chosen === 3000, `PORT=${JSON.stringify(port)} gave port ${chosen}`);
    }
    assert.equal(loadConfig({ PORT: '0' }).port, 0);
    assert.equal(loadConfig({ PORT: '65535' }).port, 65535);
  });

  test('bad URLs are errors', () => {
    assertOneProblem({ PARLEY_JWKS_URL: 'not a url' }, /^PARLEY_JWKS_URL/);
    assertOneProblem({ DATABASE_URL: 'not a url', PARLEY_JWT_SECRET: SECRET }, /^DATABASE_URL/);
  });

  test('PARLEY_RATE_LIMIT accepts counts per window or off', () => {
    assert.deepEqual(parseRateLimit('30/10s'), { points: 30, durationSec: 10 });
    assert.deepEqual(parseRateLimit('5/2h'), { points: 5, durationSec: 7200 });
    assert.equal(parseRateLimit('off'), null);
    assert.equal(loadConfig({ PARLEY_RATE_LIMIT: 'off' }).rateLimit, null);
    for (const bad of ['0/10s', '10/0s', '10/10', '10/10d', 'ten/10s', '']) assertOneProblem({ PARLEY_RATE_LIMIT: bad }, /^PARLEY_RATE_LIMIT/);
  });

  test('the config object is frozen, deeply', () => {
    const c = loadConfig({ PARLEY_JWT_SECRET: SECRET, PARLEY_API_KEYS: 'key-one-0123456789abcdef', PARLEY_CORS_ORIGINS: 'https://a.example' });
    assertDeepFrozen(c);
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (c.jwt as { secret: string | null }).secret = 'stolen';
    }, TypeError);
    assert.throws(() => (c.jwt.algorithms as string[]).push('none'), TypeError);
    assert.throws(() => (c.apiKeys as string[]).push('x'), TypeError);
    assert.throws(() => {
      (c.rateLimit as { points: number }).points = 1e9;
    }, TypeError);
    assert.deepEqual(c.jwt.algorithms, ['HS256']);
  });

  test('the environment object is not modified', () => {
    const env = { PORT: '4000', LOG_LEVEL: 'warn' };
    loadConfig(env);
    assert.deepEqual(env, { PORT: '4000', LOG_LEVEL: 'warn' });
  });
});

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
