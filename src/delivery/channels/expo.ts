import { type Channel, type DeliveryResult, networkError, retryLater } from '../channel.ts';

export interface ExpoOptions {
  endpoint?: string;
  /** Needed only when "enhanced push security" is on for the Expo project. */
  accessToken?: string;
  /** Android notification channel the app created. */
  channelId?: string;
  timeoutMs?: number;
}

const TOKEN_RE = /^Expo(?:nent)?PushToken\[[^\]\s]+\]$/;

type Ticket = { status: 'ok'; id?: string } | { status: 'error'; message?: string; details?: { error?: string } };

/**
 * The Expo push API over plain fetch (expo-server-sdk would add batching we do not use
 * here, one message per job). An `ok` ticket means Expo accepted the message; a later
 * receipt can still report DeviceNotRegistered, which this channel does not poll.
 */
export function createExpoChannel(opts: ExpoOptions = {}): Channel {
  const endpoint = opts.endpoint ?? 'https://exp.host/--/api/v2/push/send';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    platform: 'expo',
    async send(device, message): Promise<DeliveryResult> {
      const to = device.token ?? '';
      if (!TOKEN_RE.test(to)) return { status: 'invalid_token', reason: 'not an Expo push token' };
      const body = [
        {
          to,
          title: message.title,
          body: message.body,
          data: message.data ?? {},
          priority: message.priority === 'high' ? 'high' : 'normal',
          ...(message.ttlSeconds !== undefined ? { ttl: message.ttlSeconds } : {}),
          ...(message.badge !== undefined ? { badge: message.badge } : {}),
          ...(opts.channelId ? { channelId: opts.channelId } : {}),
        },
      ];
      const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
      if (opts.accessToken) headers.authorization = `Bearer ${opts.accessToken}`;
      try {
        const res = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (res.status === 429 || res.status >= 500) return retryLater(`http ${res.status}`, res.headers.get('retry-after'));
        if (!res.ok) return { status: 'failed', reason: `http ${res.status}: ${text.slice(0, 200)}` };
        let ticket: Ticket | undefined;
        try {
          ticket = (JSON.parse(text) as { data?: Ticket[] }).data?.[0];
        } catch {}
        if (!ticket) return { status: 'failed', reason: 'no ticket in the response' };
        if (ticket.status === 'ok') return { status: 'delivered' };
        const error = ticket.details?.error ?? 'unknown';
        const reason = `${error}${ticket.message ? `: ${ticket.message}` : ''}`;
        if (error === 'DeviceNotRegistered') return { status: 'invalid_token', reason };
        if (error === 'MessageRateExceeded') return { status: 'retry', reason };
        return { status: 'failed', reason };
      } catch (err) {
        return networkError(err);
      }
    },
    async close() {},
  };
}
