import { gathered } from '../../services/gathered.ts';
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
/** What Expo takes in one request: more is refused whole. */
const MESSAGES_PER_REQUEST = 100;
const RECEIPTS_PER_REQUEST = 1000;
/** Expo asks senders to keep at most six requests open at once (its Node SDK does). */
const REQUESTS_AT_ONCE = 6;

type Ticket = { status: 'ok'; id?: string } | { status: 'error'; message?: string; details?: { error?: string } };
type Outgoing = { to: string } & Record<string, unknown>;
type Answer = { status: number; text: string; retryAfter: string | null } | { failed: DeliveryResult };

/** An error ticket or receipt: a dead token is pruned, rate limiting retried, the rest is final. */
function ticketError(t: Extract<Ticket, { status: 'error' }>): DeliveryResult {
  const error = t.details?.error ?? 'unknown';
  const reason = `${error}${t.message ? `: ${t.message}` : ''}`;
  if (error === 'DeviceNotRegistered') return { status: 'invalid_token', reason };
  if (error === 'MessageRateExceeded') return { status: 'retry', reason };
  return { status: 'failed', reason };
}

const ticketResult = (t: Ticket): DeliveryResult => (t.status === 'ok' ? (t.id ? { status: 'delivered', receipt: t.id } : { status: 'delivered' }) : ticketError(t));

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** `fn` over `items`, at most `limit` at once, the answers in the items' order. */
async function inTurns<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * The tokens of a request Expo refused for mixing projects (PUSH_TOO_MANY_EXPERIENCE_IDS),
 * by project: its `details`. Null for any other refusal.
 */
function projectsOf(text: string): Map<string, string> | null {
  const errors = parse<{ errors?: { code?: string; details?: unknown }[] }>(text)?.errors;
  const details = Array.isArray(errors) ? errors.find((e) => e?.code === 'PUSH_TOO_MANY_EXPERIENCE_IDS')?.details : undefined;
  if (!details || typeof details !== 'object') return null;
  const projectOf = new Map<string, string>();
  for (const [project, tokens] of Object.entries(details)) if (Array.isArray(tokens)) for (const t of tokens) if (typeof t === 'string') projectOf.set(t, project);
  return projectOf;
}

/**
 * The Expo push API over plain fetch. Sends made in the same turn of the event loop (a
 * fetch of device jobs, run side by side) go in one request of up to 100 messages, as Expo
 * asks; receipt checks likewise, up to 1,000 ids a request. Each send still gets its own
 * answer from its own ticket. An `ok` ticket means Expo accepted the message; its receipt,
 * fetched later with checkReceipt, says whether Apple or Google took it, and is where
 * DeviceNotRegistered usually shows up.
 */
export function createExpoChannel(opts: ExpoOptions = {}): Channel {
  const endpoint = opts.endpoint ?? 'https://exp.host/--/api/v2/push/send';
  const receiptsEndpoint = endpoint.replace(/\/send\/?$/, '/getReceipts');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (opts.accessToken) headers.authorization = `Bearer ${opts.accessToken}`;

  const post = async (url: string, payload: unknown): Promise<Answer> => {
    try {
      const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(payload), signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
    } catch (err) {
      return { failed: networkError(err) };
    }
  };

  /** Whatever befalls a request befalls each of its messages; a request whose tickets do not match is sent again a message at a time. */
  const sendRequest = async (messages: Outgoing[]): Promise<DeliveryResult[]> => {
    const all = (r: DeliveryResult) => messages.map(() => r);
    const answer = await post(endpoint, messages);
    if ('failed' in answer) return all(answer.failed);
    const { status, text } = answer;
    if (status === 429 || status >= 500) return all(retryLater(`http ${status}`, answer.retryAfter));
    if (status < 200 || status >= 300) {
      if (messages.length > 1) {
        const projectOf = projectsOf(text);
        if (projectOf) return byProject(messages, projectOf);
        // One message Expo cannot take refuses its whole request: alone, only it fails.
        if (status === 400 || status === 413) return alone(messages);
      }
      return all({ status: 'failed', reason: `http ${status}: ${text.slice(0, 200)}` });
    }
    const tickets = parse<{ data?: unknown }>(text)?.data;
    if (!Array.isArray(tickets) || tickets.length !== messages.length) {
      return messages.length > 1 ? alone(messages) : all({ status: 'failed', reason: 'no ticket in the response' });
    }
    return tickets.map((t) => (t && typeof t === 'object' ? ticketResult(t as Ticket) : { status: 'failed', reason: 'a malformed ticket' }));
  };

  const alone = (messages: Outgoing[]) => inTurns(messages, REQUESTS_AT_ONCE, async (m) => (await sendRequest([m]))[0]!);

  /** A request per project (tokens Expo did not list go alone), the answers in the messages' order. */
  const byProject = async (messages: Outgoing[], projectOf: Map<string, string>): Promise<DeliveryResult[]> => {
    const groups = new Map<string, number[]>();
    for (const [i, m] of messages.entries()) {
      const key = projectOf.get(m.to) ?? `alone:${i}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    }
    if (groups.size < 2) return alone(messages); // nothing to split by: never the same request again
    const out = new Array<DeliveryResult>(messages.length);
    await inTurns([...groups.values()], REQUESTS_AT_ONCE, async (indexes) => {
      const results = await sendRequest(indexes.map((i) => messages[i]!));
      for (const [k, i] of indexes.entries()) out[i] = results[k]!;
    });
    return out;
  };

  const sendGathered = gathered(async (messages: Outgoing[]) => (await inTurns(chunks(messages, MESSAGES_PER_REQUEST), REQUESTS_AT_ONCE, sendRequest)).flat());

  const receiptRequest = async (ids: string[]): Promise<(DeliveryResult | null)[]> => {
    const all = (r: DeliveryResult) => ids.map(() => r);
    const answer = await post(receiptsEndpoint, { ids });
    if ('failed' in answer) return all(answer.failed);
    const { status, text } = answer;
    if (status === 429 || status >= 500) return all(retryLater(`http ${status}`, answer.retryAfter));
    if (status < 200 || status >= 300) return all({ status: 'failed', reason: `http ${status}: ${text.slice(0, 200)}` });
    const found = parse<{ data?: Record<string, Ticket> }>(text)?.data ?? {};
    // Left out: not ready yet (or older than Expo keeps them).
    return ids.map((id) => {
      const r = Object.hasOwn(found, id) ? found[id] : undefined;
      return r && typeof r === 'object' ? (r.status === 'ok' ? { status: 'delivered' } : ticketError(r)) : null;
    });
  };

  const receiptGathered = gathered(async (ids: string[]) => (await inTurns(chunks(ids, RECEIPTS_PER_REQUEST), REQUESTS_AT_ONCE, receiptRequest)).flat());

  return {
    platform: 'expo',
    send(device, message): Promise<DeliveryResult> {
      const to = device.token ?? '';
      if (!TOKEN_RE.test(to)) return Promise.resolve({ status: 'invalid_token', reason: 'not an Expo push token' });
      return sendGathered({
        to,
        title: message.title,
        body: message.body,
        data: message.data ?? {},
        priority: message.priority === 'high' ? 'high' : 'normal',
        ...(message.ttlSeconds !== undefined ? { ttl: message.ttlSeconds } : {}),
        ...(message.badge !== undefined ? { badge: message.badge } : {}),
        ...(opts.channelId ? { channelId: opts.channelId } : {}),
      });
    },
    checkReceipt: receiptGathered,
    async close() {},
  };
}
