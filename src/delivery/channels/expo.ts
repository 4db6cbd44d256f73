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

/** An error ticket or receipt: a dead token is pruned, rate limiting retried, the rest is final. */
function ticketError(t: Extract<Ticket, { status: 'error' }>): DeliveryResult {
  const error = t.details?.error ?? 'unknown';
  const reason = `${error}${t.message ? `: ${t.message}` : ''}`;
  if (error === 'DeviceNotRegistered') return { status: 'invalid_token', reason };
  if (error === 'MessageRateExceeded') return { status: 'retry', reason };
  return { status: 'failed', reason };
}

/**
 * The Expo push API over plain fetch (expo-server-sdk would add batching we do not use
 * here, one message per job). An `ok` ticket means Expo accepted the message; its receipt,
 * fetched later with checkReceipt, says whether Apple or Google took it, and is where
 * DeviceNotRegistered usually shows up.
 */
export function createExpoChannel(opts: ExpoOptions = {}): Channel {
  const endpoint = opts.endpoint ?? 'https://exp.host/--/api/v2/push/send';
  const receiptsEndpoint = endpoint.replace(/\/send\/?$/, '/getReceipts');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (opts.accessToken) headers.authorization = `Bearer ${opts.accessToken}`;
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
        if (ticket.status === 'ok') return ticket.id ? { status: 'delivered', receipt: ticket.id } : { status: 'delivered' };
        return ticketError(ticket);
      } catch (err) {
        return networkError(err);
      }
    },
    async checkReceipt(receipt): Promise<DeliveryResult | null> {
      try {
        const res = await fetch(receiptsEndpoint, { method: 'POST', headers, body: JSON.stringify({ ids: [receipt] }), signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (res.status === 429 || res.status >= 500) return retryLater(`http ${res.status}`, res.headers.get('retry-after'));
        if (!res.ok) return { status: 'failed', reason: `http ${res.status}: ${text.slice(0, 200)}` };
        let found: Ticket | undefined;
        try {
          found = (JSON.parse(text) as { data?: Record<string, Ticket> }).data?.[receipt];
        } catch {}
        if (!found) return null; // not ready yet (or older than Expo keeps them)
        return found.status === 'ok' ? { status: 'delivered' } : ticketError(found);
      } catch (err) {
        return networkError(err);
      }
    },
    async close() {},
  };
}
