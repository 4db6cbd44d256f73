import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { tokenFor } from './harness.ts';

/**
 * A client as a real app would write one against a cluster (docs/realtime.md's flow): it
 * connects to one of the instances, and when its connection goes (instance killed, restart
 * code, Redis gap) it reconnects with backoff to the next one, syncs from its cursors, and
 * applies live events only in seq order. It records what it applied, so a test can check
 * that every acknowledged message reached every member exactly once and in order.
 */
export type Gateway = 'socketio' | 'ws';

type Ack = { ok: boolean; data?: any; error?: { code: string; message: string } };

interface Link {
  send(command: string, data: unknown): Promise<Ack>;
  close(): void;
}

const ACK_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;

function linkSocketIo(url: string, token: string, onEvent: (event: string, data: any) => void, onClose: () => void): Promise<Link> {
  const socket: Socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: CONNECT_TIMEOUT_MS });
  socket.onAny((event, data) => onEvent(event, data));
  return new Promise((resolve, reject) => {
    // socket.io-client's `timeout` covers the transport's opening only. An instance that stops
    // between that and its CONNECT (SIGTERM during the handshake) closes the transport, which
    // a socket not yet connected reports as 'disconnect' alone: without these the attempt,
    // and the client's reconnect loop with it, would wait forever.
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.off('disconnect', beforeConnect);
      socket.disconnect();
      reject(err);
    };
    const beforeConnect = (reason: string) => fail(new Error(`closed before connect: ${reason}`));
    const timer = setTimeout(() => fail(new Error('no connect in time')), CONNECT_TIMEOUT_MS);
    socket.once('connect_error', fail);
    socket.once('disconnect', beforeConnect);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('disconnect', beforeConnect);
      socket.once('disconnect', onClose);
      resolve({
        // No ack (timeout, or the connection went first): not acknowledged.
        send: (command, data) => socket.timeout(ACK_TIMEOUT_MS).emitWithAck(command, data).catch((err: Error) => ({ ok: false, error: { code: 'no_ack', message: err.message } })),
        close: () => socket.disconnect(),
      });
    });
  });
}

function linkWs(url: string, token: string, onEvent: (event: string, data: any) => void, onClose: () => void): Promise<Link> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(token)}`, { handshakeTimeout: CONNECT_TIMEOUT_MS });
  const acks = new Map<number, (a: Ack) => void>();
  let nextId = 1;
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'ack') {
      acks.get(frame.id)?.(frame);
      acks.delete(frame.id);
    } else onEvent(frame.type, frame.data);
  });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    // A close before open without an error (the instance went during the handshake).
    const beforeOpen = () => reject(new Error('closed before open'));
    ws.once('close', beforeOpen);
    ws.once('open', () => {
      ws.off('close', beforeOpen);
      ws.on('error', () => {});
      ws.once('close', () => {
        for (const fail of acks.values()) fail({ ok: false, error: { code: 'disconnected', message: 'closed' } });
        acks.clear();
        onClose();
      });
      resolve({
        send: (command, data) =>
          new Promise((done) => {
            const id = nextId++;
            const timer = setTimeout(() => {
              acks.delete(id);
              done({ ok: false, error: { code: 'timeout', message: 'no ack' } });
            }, ACK_TIMEOUT_MS);
            acks.set(id, (a) => {
              clearTimeout(timer);
              done(a);
            });
            ws.send(JSON.stringify({ type: command, id, data }));
          }),
        close: () => ws.close(),
      });
    });
  });
}

export interface ClusterClient {
  userId: string;
  gateway: Gateway;
  /** Applied message ids per conversation, by seq (live or from sync). */
  log: Map<string, Map<number, string>>;
  counts: { live: number; fromSync: number; duplicates: number; reconnects: number; syncs: number; syncRequired: number };
  /** Sends not acknowledged, by error code. */
  failures: Record<string, number>;
  /** The instance it is connected to now (null while reconnecting). */
  url(): string | null;
  /** Sends once; answers the stored message when acknowledged, null otherwise. */
  send(conversationId: string, body: string): Promise<{ id: string; seq: number } | null>;
  /** Resolves once connected and synced. */
  settled(): Promise<void>;
  /** Syncs now (the final catch-up before checking). */
  sync(): Promise<void>;
  /** Where its connection stands (printed when a run waits on it too long). */
  state(): { userId: string; gateway: Gateway; url: string | null; linked: boolean; syncing: boolean; attempt: number; counts: ClusterClient['counts']; failures: Record<string, number> };
  close(): void;
}

export async function clusterClient(userId: string, gateway: Gateway, urls: () => string[], first: number): Promise<ClusterClient> {
  const token = await tokenFor(userId);
  const log = new Map<string, Map<number, string>>();
  const cursors = new Map<string, number>();
  const counts = { live: 0, fromSync: 0, duplicates: 0, reconnects: 0, syncs: 0, syncRequired: 0 };
  const failures: Record<string, number> = {};
  let link: Link | null = null;
  let current: string | null = null;
  let closed = false;
  let attempt = 0;
  let everConnected = false;
  let next = first;
  let syncing: Promise<void> | null = null;
  let resyncAgain = false;
  let connected: Promise<void>;
  let markConnected: () => void = () => {};
  const resetConnected = () => {
    connected = new Promise((r) => {
      markConnected = r;
    });
  };
  resetConnected();

  const apply = (conversationId: string, seq: number, messageId: string | null, how: 'live' | 'fromSync') => {
    const cursor = cursors.get(conversationId) ?? 0;
    if (seq <= cursor) {
      counts.duplicates++;
      return true;
    }
    if (seq !== cursor + 1) return false;
    cursors.set(conversationId, seq);
    if (messageId) {
      const l = log.get(conversationId) ?? new Map<number, string>();
      log.set(conversationId, l);
      if (l.has(seq)) counts.duplicates++;
      l.set(seq, messageId);
      counts[how]++;
    }
    return true;
  };

  async function runSync(): Promise<void> {
    for (;;) {
      const l = link;
      if (!l) return;
      counts.syncs++;
      const ack = await l.send('sync', { cursors: Object.fromEntries(cursors), limit: 1000 });
      if (!ack.ok) throw new Error(`sync failed: ${ack.error?.code}`);
      for (const c of ack.data.changes) apply(c.conversationId, c.seq, c.type === 'message:new' ? c.data.message.id : null, 'fromSync');
      if (!ack.data.hasMore) return;
    }
  }
  /** One sync at a time; asked again meanwhile, it runs once more after. */
  function sync(): Promise<void> {
    if (syncing) {
      resyncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      try {
        do {
          resyncAgain = false;
          await runSync();
        } while (resyncAgain);
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }

  function onEvent(event: string, data: any) {
    if (event === 'sync:required') {
      counts.syncRequired++;
      void sync().catch(() => {});
      return;
    }
    if (typeof data?.seq !== 'number' || typeof data?.conversationId !== 'string') return;
    const messageId = event === 'message:new' ? data.message.id : null;
    // A gap: the missing seqs come from sync (which also brings this one).
    if (!apply(data.conversationId, data.seq, messageId, 'live')) void sync().catch(() => {});
  }

  function onClose(which: Link | null) {
    if (closed || which !== link) return; // closed by us, or a link given up on already
    link = null;
    current = null;
    resetConnected();
    // Not all at once: a dropped instance's clients spread their returns (100-300 ms).
    if (!closed) setTimeout(() => void connect(), 100 + Math.random() * 200);
  }

  async function connect(): Promise<void> {
    while (!closed) {
      const list = urls();
      const url = list[next % list.length]!;
      next++;
      try {
        let mine: Link | null = null;
        const l = await (gateway === 'socketio' ? linkSocketIo : linkWs)(url, token, onEvent, () => onClose(mine));
        mine = l;
        if (closed) return l.close();
        link = l;
        current = url;
        if (everConnected) counts.reconnects++;
        everConnected = true;
        attempt = 0;
        await sync();
        markConnected();
        return;
      } catch {
        if (link) {
          const given = link;
          link = null;
          current = null;
          given.close();
        }
        // Backoff with jitter, as a real client does: 100 ms doubling to 2 s.
        const delay = Math.min(2000, 100 * 2 ** attempt++) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  await connect();
  return {
    userId,
    gateway,
    log,
    counts,
    failures,
    url: () => current,
    async send(conversationId, body) {
      const l = link;
      if (!l) {
        failures.not_connected = (failures.not_connected ?? 0) + 1;
        return null;
      }
      const ack = await l.send('message:send', { conversationId, clientMsgId: randomUUID(), body });
      if (!ack.ok) {
        const code = ack.error?.code ?? 'unknown';
        failures[code] = (failures[code] ?? 0) + 1;
        return null;
      }
      const m = ack.data as { id: string; seq: number };
      // Its own change comes in the ack, not as an event: applied if next, else by sync.
      if (!apply(conversationId, m.seq, m.id, 'live')) void sync().catch(() => {});
      return { id: m.id, seq: m.seq };
    },
    settled: () => connected,
    async sync() {
      await connected;
      await sync();
    },
    state: () => ({ userId, gateway, url: current, linked: link !== null, syncing: syncing !== null, attempt, counts, failures }),
    close() {
      closed = true;
      link?.close();
    },
  };
}

/**
 * Checks invariants 1-3 over a load run: every acknowledged message is in every member's
 * log exactly once, and each log is seq 1..n without a gap. Answers the counts to print.
 */
export function checkDelivery(groups: { id: string; members: ClusterClient[] }[], acked: Map<string, { id: string; seq: number }[]>) {
  let lost = 0;
  let gaps = 0;
  const gapSamples: string[] = [];
  let delivered = 0;
  for (const g of groups) {
    const sent = acked.get(g.id) ?? [];
    for (const member of g.members) {
      const l = member.log.get(g.id) ?? new Map<number, string>();
      const byId = new Map([...l].map(([seq, id]) => [id, seq]));
      for (const m of sent) {
        if (byId.get(m.id) !== m.seq) lost++;
        else delivered++;
      }
      const seqs = [...l.keys()].sort((x, y) => x - y);
      seqs.forEach((s, i) => {
        if (i > 0 && s !== seqs[i - 1]! + 1) {
          gaps++;
          if (gapSamples.length < 5) gapSamples.push(`${member.userId} in ${g.id}: ${seqs[i - 1]} -> ${s}`);
        }
      });
    }
  }
  const all = groups.flatMap((g) => g.members);
  const sum = (k: keyof ClusterClient['counts']) => all.reduce((n, c) => n + c.counts[k], 0);
  const failures: Record<string, number> = {};
  for (const c of all) for (const [code, n] of Object.entries(c.failures)) failures[code] = (failures[code] ?? 0) + n;
  return {
    failures,
    acked: [...acked.values()].reduce((n, a) => n + a.length, 0),
    delivered,
    lost,
    gaps,
    gapSamples,
    live: sum('live'),
    fromSync: sum('fromSync'),
    duplicatesDropped: sum('duplicates'),
    reconnects: sum('reconnects'),
    syncRequired: sum('syncRequired'),
  };
}
