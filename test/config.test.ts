import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, parseRateLimit } from '../src/config.ts';
import { assertDeepFrozen } from './helpers/frozen.ts';

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

describe('loadConfig', () => {
  test('defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 3000);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.ok(path.isAbsolute(c.dataDir));
    assert.equal(c.databaseUrl, null);
    assert.equal(c.dbPoolSize, 20);
    assert.equal(c.sendLingerMs, 1);
    assert.equal(c.embeddedVacuumIntervalMs, 600_000);
    assert.deepEqual(c.rateLimit, { points: 30, durationSec: 10 });
    assert.deepEqual(c.jwt, { secret: null, jwksUrl: null, issuer: null, audience: null, algorithms: ['HS256'], clockToleranceSec: 5 });
    assert.deepEqual(c.apiKeys, []);
    assert.deepEqual(c.corsOrigins, []);
    assert.equal(c.syncLimit, 5000);
    assert.equal(c.bodyLimitBytes, 256 * 1024);
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.realtime, { lockTtlMs: 300_000, pingIntervalMs: 25_000, maxBufferedBytes: 4 * 1024 * 1024, presenceStaleMs: 90_000, presenceGroupLimit: 200 });
  });

  test('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      PARLEY_DATA_DIR: '/var/lib/parley',
      DATABASE_URL: 'postgres://u:p@db:5432/parley',
      PARLEY_DB_POOL_SIZE: '8',
      PARLEY_SEND_LINGER_MS: '0',
      PARLEY_EMBEDDED_VACUUM_INTERVAL_MS: '60000',
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
    assert.equal(c.dbPoolSize, 8);
    assert.equal(c.sendLingerMs, 0);
    assert.equal(c.embeddedVacuumIntervalMs, 60_000);
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
    assert.deepEqual(d.jobs, { retryLimit: 5, retryDelaySeconds: 5, expireSeconds: 60, maintenanceSeconds: 30, pollSeconds: 30 });
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

  test('connection bounds: frame budget, sync page bytes, HTTP timeouts; defaults, every variable, and what cannot work', () => {
    const d = loadConfig({});
    assert.deepEqual(d.frameBudget, { burst: 100, perSecond: 50 });
    assert.equal(d.syncPageBytes, 1024 * 1024);
    assert.deepEqual(d.http, { headersTimeoutMs: 60_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 72_000, idleTimeoutMs: 120_000 });
    // A small send buffer brings the default page down with it.
    assert.equal(loadConfig({ PARLEY_MAX_BUFFERED_BYTES: String(128 * 1024) }).syncPageBytes, 64 * 1024);
    const c = loadConfig({
      PARLEY_FRAME_BURST: '20',
      PARLEY_FRAME_RATE: '5',
      PARLEY_SYNC_PAGE_BYTES: '65536',
      PARLEY_HTTP_HEADERS_TIMEOUT_MS: '5000',
      PARLEY_HTTP_REQUEST_TIMEOUT_MS: '10000',
      PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS: '3000',
      PARLEY_HTTP_IDLE_TIMEOUT_MS: '20000',
    });
    assert.deepEqual(c.frameBudget, { burst: 20, perSecond: 5 });
    assert.equal(c.syncPageBytes, 65536);
    assert.deepEqual(c.http, { headersTimeoutMs: 5000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 3000, idleTimeoutMs: 20_000 });
    assertOneProblem({ PARLEY_FRAME_BURST: '0' }, /PARLEY_FRAME_BURST/);
    assert.equal(d.logFormat, 'auto');
    assert.equal(loadConfig({ PARLEY_LOG_FORMAT: 'json' }).logFormat, 'json');
    assertOneProblem({ PARLEY_LOG_FORMAT: 'xml' }, /PARLEY_LOG_FORMAT/);
    assertOneProblem({ PARLEY_SYNC_PAGE_BYTES: String(4 * 1024 * 1024) }, /PARLEY_SYNC_PAGE_BYTES must be at most half/);
    assertOneProblem({ PARLEY_HTTP_HEADERS_TIMEOUT_MS: '90000', PARLEY_HTTP_REQUEST_TIMEOUT_MS: '60000' }, /PARLEY_HTTP_REQUEST_TIMEOUT_MS must be at least/);
  });

  test('delivery variables that cannot work are reported', () => {
    assertOneProblem({ PARLEY_APNS_KEY_ID: 'ABC123DEFG' }, /APNs needs all of/);
    assertOneProblem({ PARLEY_PUSH_WHEN: 'sometimes' }, /PARLEY_PUSH_WHEN/);
    assertOneProblem({ PARLEY_SMTP_URL: 'http://mail.example.com' }, /PARLEY_SMTP_URL must use smtp: or smtps:/);
    assertOneProblem({ PARLEY_EMAIL_FROM: 'a@b.c\r\nBcc: x@y.z' }, /PARLEY_EMAIL_FROM/);
    assertOneProblem({ PARLEY_JOB_RETRY_LIMIT: '100' }, /PARLEY_JOB_RETRY_LIMIT/);
    assertOneProblem({ PARLEY_APNS_ENDPOINT: 'http://api.push.apple.com' }, /PARLEY_APNS_ENDPOINT must use https:/);
  });

  test('GraphQL: defaults, every variable, and bad values reported', () => {
    assert.deepEqual(loadConfig({}).graphql, { introspection: true, maxDepth: 10, maxCost: 50_000, initTimeoutMs: 3000 });
    const c = loadConfig({ PARLEY_GRAPHQL_INTROSPECTION: 'off', PARLEY_GRAPHQL_MAX_DEPTH: '6', PARLEY_GRAPHQL_MAX_COST: '1000', PARLEY_GRAPHQL_INIT_TIMEOUT_MS: '500' });
    assert.deepEqual(c.graphql, { introspection: false, maxDepth: 6, maxCost: 1000, initTimeoutMs: 500 });
    assertOneProblem({ PARLEY_GRAPHQL_INTROSPECTION: 'maybe' }, 'PARLEY_GRAPHQL_INTROSPECTION');
    assertOneProblem({ PARLEY_GRAPHQL_MAX_DEPTH: '1' }, 'PARLEY_GRAPHQL_MAX_DEPTH');
    assertOneProblem({ PARLEY_GRAPHQL_MAX_COST: 'lots' }, 'PARLEY_GRAPHQL_MAX_COST');
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
      PARLEY_DB_POOL_SIZE: '1',
      PARLEY_SEND_LINGER_MS: '1001',
      PARLEY_EMBEDDED_VACUUM_INTERVAL_MS: '5',
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
      'PARLEY_DB_POOL_SIZE',
      'PARLEY_SEND_LINGER_MS',
      'PARLEY_EMBEDDED_VACUUM_INTERVAL_MS',
    ]) {
      assert.ok(
        problems.some((p) => p.startsWith(name)),
        `no problem reported for ${name}: ${problems.join('; ')}`,
      );
    }
    assert.equal(problems.length, 12, problems.join('; '));
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
