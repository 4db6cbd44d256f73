import { importPKCS8, SignJWT } from 'jose';
import { type Channel, type DeliveryResult, networkError, retryLater } from '../channel.ts';

export interface ServiceAccount { client_email: string; private_key: string; project_id: string; token_uri: string }

export interface FcmOptions {
  serviceAccount: ServiceAccount;
  endpoint?: string;
  timeoutMs?: number;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Refresh a little before Google says the token expires, so none is sent stale. */
const EXPIRY_MARGIN_MS = 60_000;

interface FcmError { error?: { status?: string; message?: string; details?: { errorCode?: string }[] } }

/** Thrown inside the channel only: the OAuth exchange failed, which is never the message's fault. */
class TokenError extends Error {}

/** FCM HTTP v1 with a service-account OAuth2 access token (JWT-bearer grant), cached until it expires. */
export function createFcmChannel(opts: FcmOptions): Channel {
  const sa = opts.serviceAccount;
  const endpoint = (opts.endpoint ?? 'https://fcm.googleapis.com').replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const url = `${endpoint}/v1/projects/${encodeURIComponent(sa.project_id)}/messages:send`;
  let key: ReturnType<typeof importPKCS8> | null = null;
  let cached: { token: Promise<string>; expiresAt: number } | null = null;

  async function fetchToken(): Promise<{ token: string; expiresAt: number }> {
    key ??= importPKCS8(sa.private_key, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(sa.client_email)
      .setAudience(sa.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await key);
    const res = await fetch(sa.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: GRANT, assertion }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new TokenError(`oauth token endpoint answered ${res.status}: ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new TokenError('oauth token endpoint sent no access_token');
    const ttlMs = (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000;
    return { token: body.access_token, expiresAt: Date.now() + ttlMs - EXPIRY_MARGIN_MS };
  }

  /** Concurrent sends share one exchange; a failed one is forgotten so the next send tries again. */
  function accessToken(forceRefresh: boolean): Promise<string> {
    if (cached && !forceRefresh && Date.now() < cached.expiresAt) return cached.token;
    const pending = fetchToken();
    const entry = { token: pending.then((t) => t.token), expiresAt: Number.POSITIVE_INFINITY };
    cached = entry;
    pending.then(
      (t) => {
        entry.expiresAt = t.expiresAt;
      },
      () => {
        if (cached === entry) cached = null;
      },
    );
    return entry.token;
  }

  return {
    platform: 'fcm',
    async send(device, message): Promise<DeliveryResult> {
      if (!device.token) return { status: 'invalid_token', reason: 'no device token' };
      // FCM data values must be strings.
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.data ?? {})) data[k] = typeof v === 'string' ? v : JSON.stringify(v);
      const android: Record<string, string> = { priority: message.priority === 'high' ? 'HIGH' : 'NORMAL' };
      if (message.ttlSeconds !== undefined) android.ttl = `${message.ttlSeconds}s`;
      if (message.collapseKey) android.collapse_key = message.collapseKey;
      const body = JSON.stringify({
        message: { token: device.token, notification: { title: message.title, body: message.body }, data, android },
      });

      try {
        let res: Response | null = null;
        // A 401 is a revoked or expired access token: get a new one once, then try later.
        for (let attempt = 0; attempt < 2; attempt++) {
          const token = await accessToken(attempt > 0);
          res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          if (res.status !== 401) break;
          await res.body?.cancel();
        }
        const r = res!;
        const text = await r.text();
        if (r.ok) return { status: 'delivered' };
        let parsed: FcmError = {};
        try {
          parsed = JSON.parse(text) as FcmError;
        } catch {}
        const code = parsed.error?.details?.find((d) => typeof d?.errorCode === 'string')?.errorCode;
        const reason = code ?? parsed.error?.status ?? `http ${r.status}`;
        // SENDER_ID_MISMATCH: the token belongs to another Firebase project and never will be ours.
        if (r.status === 404 || code === 'UNREGISTERED' || code === 'SENDER_ID_MISMATCH') return { status: 'invalid_token', reason };
        if (r.status === 429 || r.status >= 500 || r.status === 401) return retryLater(reason, r.headers.get('retry-after'));
        return { status: 'failed', reason };
      } catch (err) {
        if (err instanceof TokenError) return { status: 'retry', reason: err.message };
        return networkError(err);
      }
    },
    async close() {
      cached = null;
    },
  };
}
