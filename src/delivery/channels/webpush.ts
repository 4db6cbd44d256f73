import webpush from 'web-push';
import { assertPushEndpointAllowed } from '../../domain/push-endpoint.ts';
import { type Channel, type DeliveryResult, networkError, retryLater } from '../channel.ts';

export { assertPushEndpointAllowed, PushEndpointRefused } from '../../domain/push-endpoint.ts';

export interface VapidKeys { publicKey: string; privateKey: string; subject: string }

export interface WebPushOptions {
  vapid: VapidKeys;
  /** PARLEY_PUSH_ALLOW_INSECURE: http and private addresses allowed (local development, tests). */
  allowInsecure?: boolean;
  timeoutMs?: number;
}

const b64urlLength = (s: string) => (/^[A-Za-z0-9_-]+={0,2}$/.test(s) ? Buffer.from(s, 'base64url').length : -1);

/**
 * Web Push: web-push does VAPID and the aes128gcm encryption (generateRequestDetails); the
 * request itself goes through fetch, which speaks http too (allowInsecure) and, with
 * redirects refused, cannot be bounced into the private network.
 */
export function createWebPushChannel(opts: WebPushOptions): Channel {
  const allowInsecure = opts.allowInsecure ?? false;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    platform: 'webpush',
    async send(device, message): Promise<DeliveryResult> {
      const sub = device.subscription;
      if (!sub) return { status: 'invalid_token', reason: 'no subscription' };
      try {
        assertPushEndpointAllowed(sub.endpoint, allowInsecure);
      } catch (err) {
        return { status: 'invalid_token', reason: (err as Error).message };
      }
      // A subscription whose keys are not a P-256 point and a 16-byte secret can never be encrypted to.
      if (b64urlLength(sub.keys.p256dh) !== 65 || b64urlLength(sub.keys.auth) !== 16) {
        return { status: 'invalid_token', reason: 'malformed subscription keys' };
      }
      let details: webpush.RequestDetails;
      try {
        const topic = message.collapseKey && /^[A-Za-z0-9_-]{1,32}$/.test(message.collapseKey) ? message.collapseKey : undefined;
        details = webpush.generateRequestDetails(sub, JSON.stringify({ title: message.title, body: message.body, data: message.data ?? {} }), {
          vapidDetails: opts.vapid,
          TTL: message.ttlSeconds ?? 4 * 7 * 24 * 3600,
          urgency: message.priority === 'high' ? 'high' : 'normal',
          ...(topic ? { topic } : {}),
        });
      } catch (err) {
        return { status: 'failed', reason: `web-push: ${(err as Error).message}` };
      }
      const headers: Record<string, string> = {};
      // fetch sets Content-Length itself.
      for (const [k, v] of Object.entries(details.headers)) if (k.toLowerCase() !== 'content-length') headers[k] = String(v);
      try {
        const res = await fetch(details.endpoint, {
          method: 'POST',
          headers,
          body: details.body ?? undefined,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = (await res.text()).slice(0, 200);
        const reason = `http ${res.status}${text ? `: ${text}` : ''}`;
        if (res.status >= 200 && res.status < 300) return { status: 'delivered' };
        if (res.status === 404 || res.status === 410) return { status: 'invalid_token', reason };
        if (res.status === 429 || res.status >= 500) return retryLater(reason, res.headers.get('retry-after'));
        return { status: 'failed', reason };
      } catch (err) {
        return networkError(err);
      }
    },
    async close() {},
  };
}
