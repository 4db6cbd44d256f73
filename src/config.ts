import path from 'node:path';

/** Everything Parley reads from the environment, validated once and frozen. */
export interface Config {
  port: number;
  host: string;
  /** Embedded (PGlite) data directory; ignored when `databaseUrl` is set. */
  dataDir: string;
  databaseUrl: string | null;
  /** PostgreSQL connections this instance may hold (queries, transactions and the job queue share them). */
  dbPoolSize: number;
  /**
   * How long a send waits for others to share its batch (one transaction, one commit) when
   * no batch is in flight. Longer makes batches bigger and the database's CPU per message
   * smaller, and every send's ack and delivery that much later.
   */
  sendLingerMs: number;
  /** Embedded storage (PGlite) has no autovacuum: how often its tables are vacuumed, by autovacuum's rules. */
  embeddedVacuumIntervalMs: number;
  /** Cluster mode: every realtime port (bus, presence, locks, typing, rate limits) on Redis. */
  redis: { url: string; prefix: string } | null;
  /** SIGTERM: how long draining may take before the process exits anyway. */
  shutdownTimeoutMs: number;
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
    /** Presence changes are pushed to co-members of conversations up to this size; larger groups ask (presence:get). */
    presenceGroupLimit: number;
  };
  bodyLimitBytes: number;
  /** Per realtime connection: frames in a burst, and per second after it, before `rate_limited`. */
  frameBudget: { burst: number; perSecond: number };
  /** A sync page stops before this many bytes of changes (and sets `hasMore`), whatever its count. */
  syncPageBytes: number;
  /** HTTP timeouts (ms): request headers, the whole request with its body, an idle keep-alive connection, a socket with no traffic either way. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; idleTimeoutMs: number };
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
  graphql: {
    /** Answer `__schema` / `__type` (the SDL is public at /graphql/schema.graphql either way). */
    introspection: boolean;
    /** Deepest field nesting an operation may select. */
    maxDepth: number;
    /** Most objects an operation's answer may hold, estimated before it runs. */
    maxCost: number;
    /** A GraphQL WebSocket that sends no connection_init within this is closed (4408). */
    initTimeoutMs: number;
  };
  logLevel: string;
  /** `auto`: readable lines when stdout is a terminal, JSON lines otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  /** Development sign-in (POST /v1/dev/login): only embedded, with a generated secret, on a loopback host. */
  devLogin: boolean;
  /** Origins allowed to frame the web app and hand it a token by postMessage. */
  embedOrigins: string[];
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
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const redisPrefix = env.PARLEY_REDIS_PREFIX ?? 'parley:';
  if (!/^[A-Za-z0-9:_.-]{0,64}$/.test(redisPrefix)) problems.push('PARLEY_REDIS_PREFIX may hold up to 64 letters, digits and :_.-');
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

  const introspectionRaw = env.PARLEY_GRAPHQL_INTROSPECTION || 'on';
  const introspection = ['on', '1', 'true'].includes(introspectionRaw);
  if (!introspection && !['off', '0', 'false'].includes(introspectionRaw)) problems.push(`PARLEY_GRAPHQL_INTROSPECTION must be on or off (got "${introspectionRaw}")`);

  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = env.PARLEY_LOG_FORMAT || 'auto';
  if (logFormat !== 'auto' && logFormat !== 'json' && logFormat !== 'pretty') problems.push(`PARLEY_LOG_FORMAT must be auto, json or pretty (got "${logFormat}")`);

  const host = env.HOST || '127.0.0.1';
  const devLogin = devLoginSetting(env.PARLEY_DEV_LOGIN, !databaseUrl && !secret && !jwksUrl && isLoopbackHost(host), problems);
  const embedOrigins = list(env.PARLEY_EMBED_ORIGINS);
  for (const o of embedOrigins) if (!isOrigin(o)) problems.push(`PARLEY_EMBED_ORIGINS: "${o}" is not an origin (scheme://host[:port])`);

  const apiKeys = list(env.PARLEY_API_KEYS);
  for (const key of apiKeys) if (key.length < 16) problems.push('PARLEY_API_KEYS: every key must be at least 16 characters');

  const maxBufferedBytes = int('PARLEY_MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024);
  // A page larger than the send buffer would cut every client that asks for it.
  const syncPageBytes = int('PARLEY_SYNC_PAGE_BYTES', Math.min(1024 * 1024, maxBufferedBytes / 2), 16 * 1024, 64 * 1024 * 1024);
  if (syncPageBytes > maxBufferedBytes / 2) problems.push('PARLEY_SYNC_PAGE_BYTES must be at most half of PARLEY_MAX_BUFFERED_BYTES');
  const headersTimeoutMs = int('PARLEY_HTTP_HEADERS_TIMEOUT_MS', 60_000, 100, 3_600_000);
  const requestTimeoutMs = int('PARLEY_HTTP_REQUEST_TIMEOUT_MS', 120_000, 100, 3_600_000);
  if (requestTimeoutMs < headersTimeoutMs) problems.push('PARLEY_HTTP_REQUEST_TIMEOUT_MS must be at least PARLEY_HTTP_HEADERS_TIMEOUT_MS');

  const config: Config = {
    port: int('PORT', 3000, 0, 65535),
    host,
    dataDir: path.resolve(env.PARLEY_DATA_DIR || './data'),
    databaseUrl,
    dbPoolSize: int('PARLEY_DB_POOL_SIZE', 20, 2, 1000),
    sendLingerMs: int('PARLEY_SEND_LINGER_MS', 1, 0, 1000),
    embeddedVacuumIntervalMs: int('PARLEY_EMBEDDED_VACUUM_INTERVAL_MS', 600_000, 1000, 86_400_000),
    redis: redisUrl ? { url: redisUrl, prefix: redisPrefix } : null,
    shutdownTimeoutMs: int('PARLEY_SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
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
      maxBufferedBytes,
      presenceStaleMs: int('PARLEY_PRESENCE_STALE_MS', 90_000, 1000, 3_600_000),
      presenceGroupLimit: int('PARLEY_PRESENCE_GROUP_LIMIT', 200, 2, 1_000_000),
    },
    bodyLimitBytes: int('PARLEY_BODY_LIMIT', 256 * 1024, 1024, 16 * 1024 * 1024),
    frameBudget: { burst: int('PARLEY_FRAME_BURST', 100, 1, 100_000), perSecond: int('PARLEY_FRAME_RATE', 50, 1, 100_000) },
    syncPageBytes,
    http: {
      headersTimeoutMs,
      requestTimeoutMs,
      keepAliveTimeoutMs: int('PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000),
      idleTimeoutMs: int('PARLEY_HTTP_IDLE_TIMEOUT_MS', 120_000, 100, 3_600_000),
    },
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
      pollSeconds: int('PARLEY_JOB_POLL_SECONDS', 30, 1, 600),
    },
    graphql: {
      introspection,
      maxDepth: int('PARLEY_GRAPHQL_MAX_DEPTH', 10, 2, 100),
      maxCost: int('PARLEY_GRAPHQL_MAX_COST', 50_000, 10, 10_000_000),
      initTimeoutMs: int('PARLEY_GRAPHQL_INIT_TIMEOUT_MS', 3000, 100, 60_000),
    },
    logLevel,
    logFormat: logFormat as Config['logFormat'],
    devLogin,
    embedOrigins,
  };
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze(config);
}

const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

function isOrigin(raw: string): boolean {
  try {
    const u = new URL(raw);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === raw;
  } catch {
    return false;
  }
}

/**
 * The development sign-in hands a token for any user id to whoever asks, so it exists only
 * where nobody but the developer can ask: embedded storage, a secret Parley generated (no
 * real users' tokens are signed with it), a loopback interface. It is on there by default;
 * `PARLEY_DEV_LOGIN=0` turns it off, and asking for it anywhere else is a configuration error.
 */
function devLoginSetting(raw: string | undefined, possible: boolean, problems: string[]): boolean {
  if (raw === undefined || raw === '') return possible;
  if (raw === '0' || raw === 'false') return false;
  if (raw !== '1' && raw !== 'true') {
    problems.push(`PARLEY_DEV_LOGIN must be 1 or 0 (got "${raw}")`);
    return false;
  }
  if (!possible) problems.push('PARLEY_DEV_LOGIN=1 needs embedded mode (no DATABASE_URL), a generated secret (no PARLEY_JWT_SECRET or PARLEY_JWKS_URL) and a loopback HOST');
  return possible;
}

export function deepFreeze<T>(obj: T): T {
  for (const value of Object.values(obj as object)) if (value && typeof value === 'object') deepFreeze(value);
  return Object.freeze(obj);
}
