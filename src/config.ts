import path from 'node:path';

/** Everything Parley reads from the environment, validated once and frozen. */
export interface Config {
  port: number;
  host: string;
  /** Embedded (PGlite) data directory; ignored when `databaseUrl` is set. */
  dataDir: string;
  databaseUrl: string | null;
  jwt: {
    secret: string | null;
    jwksUrl: string | null;
    issuer: string | null;
    audience: string | null;
    /** Allowed algorithms; anything else is rejected before the signature is checked. */
    algorithms: string[];
    clockToleranceSec: number;
  };
  apiKeys: string[];
  corsOrigins: string[];
  rateLimit: { points: number; durationSec: number } | null;
  syncLimit: number;
  realtime: {
    /** Edit locks expire after this long unless renewed. */
    lockTtlMs: number;
    /** WebSocket ping interval; a peer missing one pong is dropped. */
    pingIntervalMs: number;
    /** A connection whose unsent data passes this is a slow consumer and is disconnected. */
    maxBufferedBytes: number;
    /** A connection not heard from for this long is no longer online. */
    presenceStaleMs: number;
  };
  bodyLimitBytes: number;
  push: {
    /** Accept Web Push endpoints on http or private addresses (local development and tests only). */
    allowInsecure: boolean;
    /** Web Push VAPID keys (base64url); embedded mode generates them when unset. */
    vapid: { publicKey: string; privateKey: string; subject: string } | null;
    /** APNs token auth; null leaves iOS devices unserved. */
    apns: { keyId: string; teamId: string; keyFile: string; bundleId: string; endpoint: string } | null;
    /** FCM HTTP v1 with a service account; null leaves Android devices unserved. */
    fcm: { serviceAccountFile: string; endpoint: string | null } | null;
    /** `receiptDelaySeconds`: when to ask Expo what became of an accepted push. */
    expo: { endpoint: string; accessToken: string | null; receiptDelaySeconds: number };
    /** Push to users with no live connection only ('offline'), or on every message ('always'). */
    when: 'offline' | 'always';
    /** Messages of one conversation within this window go out as one push. */
    coalesceMs: number;
  };
  email: {
    /** smtp:// or smtps:// URL; null turns email digests off. */
    smtpUrl: string | null;
    from: string;
    /** Minutes between digest runs; 0 turns them off. */
    digestIntervalMinutes: number;
    /** Links in digests point here (`<appUrl>/c/<conversationId>`) when set. */
    appUrl: string | null;
  };
  jobs: {
    retryLimit: number;
    retryDelaySeconds: number;
    expireSeconds: number;
    maintenanceSeconds: number;
    pollSeconds: number;
  };
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];

/** Parses `30/10s`, `100/1m` or `off` into points per window. */
export function parseRateLimit(raw: string): { points: number; durationSec: number } | null | undefined {
  if (raw === 'off' || raw === '0') return null;
  const m = /^(\d+)\/(\d+)(s|m|h)$/.exec(raw);
  if (!m) return undefined;
  const points = Number(m[1]);
  const duration = Number(m[2]) * { s: 1, m: 60, h: 3600 }[m[3] as 's' | 'm' | 'h'];
  if (points < 1 || duration < 1) return undefined;
  return { points, durationSec: duration };
}

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Reads the environment into a Config. Every bad variable is reported at once (a
 * ConfigError listing them all), so an operator fixes a deployment in one pass.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    // Digits only: Number(' ') is 0 and Number('0x50') is 80, neither is what was meant.
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, protocols: string[]): string | null => {
    const raw = env[name];
    if (!raw) return null;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) problems.push(`${name} must use ${protocols.join(' or ')} (got "${u.protocol}")`);
    } catch {
      problems.push(`${name} is not a URL`);
    }
    return raw;
  };

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const secret = env.PARLEY_JWT_SECRET || null;
  if (secret !== null && secret.length < 32) problems.push('PARLEY_JWT_SECRET must be at least 32 characters');
  const jwksUrl = url('PARLEY_JWKS_URL', ['https:', 'http:']);
  const algorithms = env.PARLEY_JWT_ALGORITHMS
    ? list(env.PARLEY_JWT_ALGORITHMS)
    : [...(secret || !jwksUrl ? ['HS256'] : []), ...(jwksUrl ? ['RS256', 'ES256'] : [])];
  for (const alg of algorithms) {
    if (!HMAC_ALGS.includes(alg) && !ASYMMETRIC_ALGS.includes(alg)) problems.push(`PARLEY_JWT_ALGORITHMS: unknown algorithm ${alg}`);
  }
  if (databaseUrl && !secret && !jwksUrl) {
    problems.push('With DATABASE_URL set, PARLEY_JWT_SECRET or PARLEY_JWKS_URL is required (only embedded mode generates a secret)');
  }

  const rateRaw = env.PARLEY_RATE_LIMIT ?? '30/10s';
  const rateLimit = parseRateLimit(rateRaw);
  if (rateLimit === undefined) problems.push(`PARLEY_RATE_LIMIT must look like 30/10s, 100/1m or off (got "${rateRaw}")`);

  const vapidSubject = env.PARLEY_VAPID_SUBJECT || 'mailto:parley@localhost';
  if (!/^(mailto:|https:\/\/)/.test(vapidSubject)) problems.push('PARLEY_VAPID_SUBJECT must be a mailto: or https: URL');
  const vapidPublic = env.PARLEY_VAPID_PUBLIC_KEY || null;
  const vapidPrivate = env.PARLEY_VAPID_PRIVATE_KEY || null;
  if (Boolean(vapidPublic) !== Boolean(vapidPrivate)) problems.push('PARLEY_VAPID_PUBLIC_KEY and PARLEY_VAPID_PRIVATE_KEY go together');
  for (const [name, key, bytes] of [['PARLEY_VAPID_PUBLIC_KEY', vapidPublic, 65], ['PARLEY_VAPID_PRIVATE_KEY', vapidPrivate, 32]] as const) {
    if (key && (!/^[A-Za-z0-9_-]+$/.test(key) || Buffer.from(key, 'base64url').length !== bytes)) problems.push(`${name} must be ${bytes} bytes, base64url`);
  }
  const vapid = vapidPublic && vapidPrivate ? { publicKey: vapidPublic, privateKey: vapidPrivate, subject: vapidSubject } : null;

  const apnsVars = ['PARLEY_APNS_KEY_ID', 'PARLEY_APNS_TEAM_ID', 'PARLEY_APNS_KEY_FILE', 'PARLEY_APNS_BUNDLE_ID'] as const;
  const apnsSet = apnsVars.filter((v) => env[v]);
  if (apnsSet.length > 0 && apnsSet.length < apnsVars.length) problems.push(`APNs needs all of ${apnsVars.join(', ')}`);
  const apnsEndpoint = url('PARLEY_APNS_ENDPOINT', ['https:']) ?? 'https://api.push.apple.com';
  const apns =
    apnsSet.length === apnsVars.length
      ? { keyId: env.PARLEY_APNS_KEY_ID!, teamId: env.PARLEY_APNS_TEAM_ID!, keyFile: env.PARLEY_APNS_KEY_FILE!, bundleId: env.PARLEY_APNS_BUNDLE_ID!, endpoint: apnsEndpoint }
      : null;
  const fcmEndpoint = url('PARLEY_FCM_ENDPOINT', ['https:', 'http:']);
  const fcm = env.PARLEY_FCM_SERVICE_ACCOUNT_FILE ? { serviceAccountFile: env.PARLEY_FCM_SERVICE_ACCOUNT_FILE, endpoint: fcmEndpoint } : null;
  const expoEndpoint = url('PARLEY_EXPO_ENDPOINT', ['https:', 'http:']) ?? 'https://exp.host/--/api/v2/push/send';
  const pushWhen = env.PARLEY_PUSH_WHEN || 'offline';
  if (pushWhen !== 'offline' && pushWhen !== 'always') problems.push(`PARLEY_PUSH_WHEN must be offline or always (got "${pushWhen}")`);
  const smtpUrl = url('PARLEY_SMTP_URL', ['smtp:', 'smtps:']);
  const emailFrom = env.PARLEY_EMAIL_FROM || 'Parley <parley@localhost>';
  if (/[\r\n]/.test(emailFrom)) problems.push('PARLEY_EMAIL_FROM must be one line');
  const appUrl = url('PARLEY_APP_URL', ['https:', 'http:']);

  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const apiKeys = list(env.PARLEY_API_KEYS);
  for (const key of apiKeys) if (key.length < 16) problems.push('PARLEY_API_KEYS: every key must be at least 16 characters');

  const config: Config = {
    port: int('PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir: path.resolve(env.PARLEY_DATA_DIR || './data'),
    databaseUrl,
    jwt: {
      secret,
      jwksUrl,
      issuer: env.PARLEY_JWT_ISSUER || null,
      audience: env.PARLEY_JWT_AUDIENCE || null,
      algorithms,
      clockToleranceSec: int('PARLEY_JWT_CLOCK_TOLERANCE', 5, 0, 300),
    },
    apiKeys,
    corsOrigins: list(env.PARLEY_CORS_ORIGINS),
    rateLimit: rateLimit ?? null,
    syncLimit: int('PARLEY_SYNC_LIMIT', 5000, 10, 1_000_000),
    realtime: {
      lockTtlMs: int('PARLEY_LOCK_TTL_SECONDS', 300, 1, 86_400) * 1000,
      pingIntervalMs: int('PARLEY_PING_INTERVAL_MS', 25_000, 100, 600_000),
      maxBufferedBytes: int('PARLEY_MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
      presenceStaleMs: int('PARLEY_PRESENCE_STALE_MS', 90_000, 1000, 3_600_000),
    },
    bodyLimitBytes: int('PARLEY_BODY_LIMIT', 256 * 1024, 1024, 16 * 1024 * 1024),
    push: {
      allowInsecure: env.PARLEY_PUSH_ALLOW_INSECURE === '1' || env.PARLEY_PUSH_ALLOW_INSECURE === 'true',
      vapid,
      apns,
      fcm,
      expo: { endpoint: expoEndpoint, accessToken: env.PARLEY_EXPO_ACCESS_TOKEN || null, receiptDelaySeconds: int('PARLEY_EXPO_RECEIPT_DELAY_SECONDS', 900, 1, 86_400) },
      when: pushWhen as 'offline' | 'always',
      coalesceMs: int('PARLEY_PUSH_COALESCE_MS', 3000, 0, 600_000),
    },
    email: {
      smtpUrl,
      from: emailFrom,
      digestIntervalMinutes: int('PARLEY_DIGEST_INTERVAL_MINUTES', 30, 0, 7 * 24 * 60),
      appUrl: appUrl ? appUrl.replace(/\/+$/, '') : null,
    },
    jobs: {
      retryLimit: int('PARLEY_JOB_RETRY_LIMIT', 5, 0, 50),
      retryDelaySeconds: int('PARLEY_JOB_RETRY_DELAY_SECONDS', 5, 1, 3600),
      expireSeconds: int('PARLEY_JOB_EXPIRE_SECONDS', 60, 1, 3600),
      maintenanceSeconds: int('PARLEY_JOB_MAINTENANCE_SECONDS', 30, 1, 3600),
      pollSeconds: int('PARLEY_JOB_POLL_SECONDS', 2, 1, 60),
    },
    logLevel,
  };
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze(config);
}

export function deepFreeze<T>(obj: T): T {
  for (const value of Object.values(obj as object)) if (value && typeof value === 'object') deepFreeze(value);
  return Object.freeze(obj);
}
