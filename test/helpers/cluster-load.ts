import { randomBytes } from 'node:crypto';
import { API_KEY } from './harness.ts';
import { checkDelivery, type ClusterClient, clusterClient } from './cluster-client.ts';

/**
 * Steady load on a cluster: `clients` users in groups of `groupSize`, spread over every
 * instance and both gateways, sending `rate` messages a second in all for `seconds`, with
 * `events` run at given offsets (kill an instance, cut Redis...). Answers the delivery check
 * after every client reconnected and caught up.
 */
export interface LoadOptions {
  urls: () => string[];
  clients?: number;
  groupSize?: number;
  rate?: number;
  seconds: number;
  /** Keep sending past `seconds` until every event has finished. */
  untilEventsDone?: boolean;
  events?: { atMs: number; run: () => Promise<void> }[];
}

export async function adminPost(url: string, path: string, body: unknown, actingAs?: string) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(actingAs ? { 'x-parley-user': actingAs } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** One send of the run: the instance its client was on, when it went, when it was acked (epoch ms). */
export interface SendRecord {
  url: string | null;
  sentAt: number;
  ackedAt: number | null;
}

/** Each send has its own 5 s ack timeout: all of them are answered well within this. */
const ACK_DEADLINE_MS = 60_000;
/** Reconnecting backs off to 2 s at most, and a sync page is bounded by its ack timeout. */
const CATCH_UP_DEADLINE_MS = 90_000;

/** Waits for `p`; past `ms`, fails with what it was waiting for, so a stuck run says where. */
async function within<T>(what: string, ms: number, p: Promise<T>, detail: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms / 1000} s: ${JSON.stringify(detail())}`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runLoad(o: LoadOptions) {
  const n = o.clients ?? 200;
  const groupSize = o.groupSize ?? 10;
  const run = randomBytes(3).toString('hex');
  const users = Array.from({ length: n }, (_, i) => `load-${run}-${i}`);
  const groups: { id: string; members: ClusterClient[] }[] = [];
  const urls = o.urls();
  for (let g = 0; g * groupSize < n; g++) {
    const members = users.slice(g * groupSize, (g + 1) * groupSize);
    const res = await adminPost(urls[g % urls.length]!, '/v1/conversations', { kind: 'group', members: members.slice(1), title: `load ${g}` }, members[0]);
    if (res.status !== 201) throw new Error(`group: ${res.status} ${JSON.stringify(res.body)}`);
    groups.push({ id: res.body.conversation.id, members: [] });
  }
  // Spread: client i on instance i mod N, every other one on the plain WebSocket.
  const clients = await Promise.all(users.map((u, i) => clusterClient(u, i % 2 ? 'ws' : 'socketio', o.urls, i)));
  for (const [i, c] of clients.entries()) groups[Math.floor(i / groupSize)]!.members.push(c);
  const groupOf = new Map(clients.map((c, i) => [c, groups[Math.floor(i / groupSize)]!.id]));

  try {
    return await drive(o, clients, groups, groupOf);
  } finally {
    for (const c of clients) c.close();
  }
}

async function drive(o: LoadOptions, clients: ClusterClient[], groups: { id: string; members: ClusterClient[] }[], groupOf: Map<ClusterClient, string>) {
  const acked = new Map<string, { id: string; seq: number }[]>();
  const sendLog: SendRecord[] = [];
  let attempted = 0;
  let failed = 0;
  const sends: Promise<void>[] = [];
  const start = Date.now();
  const pendingEvents = [...(o.events ?? [])].sort((a, b) => a.atMs - b.atMs);
  const eventRuns: Promise<void>[] = [];
  let running = 0;
  const track = (p: Promise<void>) => {
    running++;
    return p.finally(() => running--);
  };
  const interval = 1000 / (o.rate ?? 100);
  const going = () => Date.now() - start < o.seconds * 1000 || (o.untilEventsDone && (running > 0 || pendingEvents.length > 0));
  for (let i = 0; going(); i++) {
    while (pendingEvents.length && Date.now() - start >= pendingEvents[0]!.atMs) eventRuns.push(track(pendingEvents.shift()!.run()));
    const sender = clients[i % clients.length]!;
    const conversationId = groupOf.get(sender)!;
    attempted++;
    const record: SendRecord = { url: sender.url(), sentAt: Date.now(), ackedAt: null };
    sendLog.push(record);
    sends.push(
      sender.send(conversationId, `m${i}`).then((m) => {
        if (!m) return void failed++;
        record.ackedAt = Date.now();
        const list = acked.get(conversationId) ?? [];
        acked.set(conversationId, list);
        list.push(m);
      }),
    );
    const due = start + (i + 1) * interval;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
  await within('the last sends', ACK_DEADLINE_MS, Promise.all(sends), () => ({ attempted, acked: sendLog.filter((r) => r.ackedAt !== null).length, failed }));
  await Promise.all(eventRuns);
  // Every client reconnected (if it had to) and caught up from its cursors.
  const synced = new Set<ClusterClient>();
  const catchUp = clients.map((c) => c.sync().then(() => void synced.add(c)));
  await within('every client to reconnect and sync', CATCH_UP_DEADLINE_MS, Promise.all(catchUp), () =>
    clients.filter((c) => !synced.has(c)).map((c) => c.state()),
  );
  return { ...checkDelivery(groups, acked), attempted, failed, sends: sendLog, clients };
}

/** A run's counts (and `extra`) as JSON, without its sends and clients: printed, and carried by assertions. */
export function countsOf(result: Awaited<ReturnType<typeof runLoad>>, extra: Record<string, unknown> = {}): string {
  const { sends: _s, clients: _c, ...counts } = result;
  return JSON.stringify({ ...counts, ...extra });
}
