import http2 from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import { type Channel, type DeliveryResult, networkError, retryLater } from '../channel.ts';

export interface ApnsOptions {
  keyId: string;
  teamId: string;
  /** The .p8 key Apple issues (PKCS#8 PEM, P-256). */
  privateKeyPem: string;
  /** The app's bundle id, sent as apns-topic. */
  bundleId: string;
  endpoint?: string;
  /** Extra CA to trust (tests: the local server's self-signed certificate). */
  ca?: string;
  timeoutMs?: number;
}

/** Apple rejects a provider token older than an hour and one refreshed more than every 20 minutes. */
const JWT_MAX_AGE_MS = 50 * 60_000;
/** Device tokens are hex; anything else would be a path injection or a certain BadDeviceToken. */
const TOKEN_RE = /^[0-9a-fA-F]{8,200}$/;
const INVALID_TOKEN_REASONS = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic', 'Unregistered']);

interface Reply { status: number; headers: http2.IncomingHttpHeaders; body: string }

/** APNs over HTTP/2 with token (.p8) auth: one session reused for every send, reopened when it closes. */
export function createApnsChannel(opts: ApnsOptions): Channel {
  const endpoint = opts.endpoint ?? 'https://api.push.apple.com';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let session: http2.ClientHttp2Session | null = null;
  let jwt: { token: Promise<string>; issuedAt: number } | null = null;
  let key: ReturnType<typeof importPKCS8> | null = null;
  let closed = false;

  function providerToken(forceRefresh: boolean): Promise<string> {
    if (jwt && !forceRefresh && Date.now() - jwt.issuedAt < JWT_MAX_AGE_MS) return jwt.token;
    key ??= importPKCS8(opts.privateKeyPem, 'ES256');
    const issuedAt = Date.now();
    const token = key.then((k) =>
      new SignJWT({ iss: opts.teamId, iat: Math.floor(issuedAt / 1000) }).setProtectedHeader({ alg: 'ES256', kid: opts.keyId }).sign(k),
    );
    // A failed signing (a bad key) must not be cached: the next send tries again.
    const entry = { token, issuedAt };
    jwt = entry;
    token.catch(() => {
      if (jwt === entry) jwt = null;
    });
    return token;
  }

  function connection(): http2.ClientHttp2Session {
    if (session && !session.closed && !session.destroyed) return session;
    const s = http2.connect(endpoint, opts.ca ? { ca: opts.ca } : {});
    // Errors reach the streams that were open; the session itself is just dropped.
    s.on('error', () => {});
    const drop = () => {
      if (session === s) session = null;
    };
    s.on('close', drop);
    s.on('goaway', drop);
    session = s;
    return s;
  }

  /**
   * A request on a session that was already open can race its close (Apple drops idle
   * connections): that one is sent again once on a fresh connection. A retry later would
   * resend it anyway.
   */
  async function post(path: string, headers: http2.OutgoingHttpHeaders, body: string): Promise<Reply> {
    const reused = session !== null && !session.closed && !session.destroyed;
    try {
      return await postOnce(path, headers, body);
    } catch (err) {
      if (!reused || (err as { code?: string }).code === 'ETIMEDOUT') throw err;
      session?.destroy();
      session = null;
      return postOnce(path, headers, body);
    }
  }

  function postOnce(path: string, headers: http2.OutgoingHttpHeaders, body: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (fn: () => void) => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      let req: http2.ClientHttp2Stream;
      try {
        req = connection().request({ ':method': 'POST', ':path': path, ...headers });
      } catch (err) {
        reject(err);
        return;
      }
      let status = 0;
      let resHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.setTimeout(timeoutMs, () => {
        done(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
        req.close(http2.constants.NGHTTP2_CANCEL);
      });
      req.on('response', (h) => {
        status = Number(h[':status']);
        resHeaders = h;
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => done(() => resolve({ status, headers: resHeaders, body: Buffer.concat(chunks).toString('utf8') })));
      req.on('error', (err) => done(() => reject(err)));
      req.on('close', () => done(() => reject(Object.assign(new Error('stream closed'), { code: 'ERR_HTTP2_STREAM_CANCEL' }))));
      req.end(body);
    });
  }

  function reasonOf(reply: Reply): string {
    try {
      const parsed = JSON.parse(reply.body) as { reason?: unknown };
      if (typeof parsed.reason === 'string') return parsed.reason;
    } catch {}
    return `http ${reply.status}`;
  }

  return {
    platform: 'apns',
    async send(device, message): Promise<DeliveryResult> {
      if (closed) return { status: 'retry', reason: 'channel closed' };
      const token = device.token ?? '';
      if (!TOKEN_RE.test(token)) return { status: 'invalid_token', reason: 'malformed device token' };
      // `aps` last, so custom data can never replace it.
      const payload = JSON.stringify({
        ...message.data,
        aps: { alert: { title: message.title, body: message.body }, ...(message.badge !== undefined ? { badge: message.badge } : {}), sound: 'default' },
      });
      const headers: http2.OutgoingHttpHeaders = {
        'apns-topic': opts.bundleId,
        'apns-push-type': 'alert',
        'apns-priority': message.priority === 'high' ? '10' : '5',
        'content-type': 'application/json',
      };
      if (message.ttlSeconds !== undefined) headers['apns-expiration'] = String(Math.floor(Date.now() / 1000) + message.ttlSeconds);
      if (message.collapseKey) headers['apns-collapse-id'] = message.collapseKey;

      try {
        let reply: Reply | null = null;
        // A 403 is an expired or rejected provider token: sign a new one once, then give up.
        for (let attempt = 0; attempt < 2; attempt++) {
          const bearer = await providerToken(attempt > 0);
          reply = await post(`/3/device/${token}`, { ...headers, authorization: `bearer ${bearer}` }, payload);
          if (reply.status !== 403) break;
        }
        const r = reply!;
        const reason = reasonOf(r);
        if (r.status === 200) return { status: 'delivered' };
        if (r.status === 410 || (r.status === 400 && INVALID_TOKEN_REASONS.has(reason))) return { status: 'invalid_token', reason };
        if (r.status === 429) return retryLater(reason, r.headers['retry-after'] as string | undefined);
        if (r.status >= 500) return retryLater(reason, r.headers['retry-after'] as string | undefined);
        return { status: 'failed', reason };
      } catch (err) {
        return networkError(err);
      }
    },
    async close() {
      closed = true;
      const s = session;
      session = null;
      if (!s || s.closed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.destroy();
          resolve();
        }, 1000);
        s.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
