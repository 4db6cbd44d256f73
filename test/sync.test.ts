import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { type Client, type Harness, harness, send, uid } from './helpers/harness.ts';
import { listen, type RtClient, socketClient, wsClient } from './helpers/realtime.ts';

/**
 * A client-side replica built only from events, applied the way the documented client
 * flow says: apply live events in seq order; on a gap, sync that conversation.
 */
class Replica {
  cursors: Record<string, number> = {};
  messages = new Map<string, any>();
  seqs: number[] = [];
  duplicates = 0;
  apply(change: { type: string; conversationId: string; seq: number; data: any }) {
    const cursor = this.cursors[change.conversationId] ?? 0;
    if (change.seq <= cursor) {
      this.duplicates++;
      return;
    }
    if (change.seq !== cursor + 1) throw new Error(`gap: ${cursor} -> ${change.seq}`);
    this.cursors[change.conversationId] = change.seq;
    this.seqs.push(change.seq);
    const d = change.data;
    if (change.type === 'message:new' || change.type === 'message:updated' || change.type === 'message:deleted') this.messages.set(d.message.id, d.message);
    if (change.type === 'reaction:updated') this.messages.set(d.messageId, { ...this.messages.get(d.messageId), reactions: d.reactions });
  }
  async syncAll(rt: RtClient) {
    for (;;) {
      const ack = await rt.send('sync', { cursors: this.cursors, limit: 200 });
      assert.equal(ack.ok, true, JSON.stringify(ack.error));
      for (const c of ack.data.changes) this.apply(c);
      if (!ack.data.hasMore) return ack.data;
    }
  }
}

async function serverState(c: Client, id: string) {
  const all: any[] = [];
  let after = 0;
  for (;;) {
    const page = (await c.get(`/v1/conversations/${id}/messages?after=${after}&limit=200`)).body;
    all.push(...page.messages);
    if (!page.hasMore) break;
    after = page.messages.at(-1).seq;
  }
  return all;
}

describe('recovery', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend, { PARLEY_SYNC_LIMIT: '3000' });
    url = await listen(h);
  });
  after(() => h.close());

  test('a client away while 1,000 messages, edits, deletes and reactions flow ends with exactly the server state', async () => {
    const ana = h.as(uid('ana'));
    const bob = h.as(uid('bob'));
    const id = await h.group(ana, [bob.userId]);
    const replica = new Replica();
    let rt: RtClient = await socketClient(url, bob.userId);
    await replica.syncAll(rt);
    await rt.close();
    // While bob is away: 1,000 changes of every kind.
    const sent: any[] = [];
    for (let i = 0; i < 700; i++) sent.push(await send(ana, id, `m${i}`));
    for (let i = 0; i < 100; i++) await ana.patch(`/v1/messages/${sent[i].id}`, { body: `edited ${i}` });
    for (let i = 100; i < 200; i++) await ana.delete(`/v1/messages/${sent[i].id}`);
    for (let i = 200; i < 300; i++) await bob.post(`/v1/messages/${sent[i].id}/reactions`, { emoji: '👍' });
    rt = await wsClient(url, bob.userId);
    try {
      await replica.syncAll(rt);
      assert.equal(replica.cursors[id], 1000);
      assert.deepEqual(replica.seqs, Array.from({ length: 1000 }, (_, i) => i + 1));
      assert.equal(replica.duplicates, 0);
      const truth = await serverState(bob, id);
      assert.equal(truth.length, 700);
      for (const m of truth) assert.deepEqual(replica.messages.get(m.id), m);
    } finally {
      await rt.close();
    }
  });

  test('past PARLEY_SYNC_LIMIT the answer says reset; a conversation missing from the cursors comes from its start', async () => {
    const limited = await harness({ store: h.store }, { PARLEY_SYNC_LIMIT: '50' });
    const ana = limited.as(uid('ana'));
    const small = await limited.group(ana, []);
    const big = await limited.group(ana, []);
    await send(ana, small, 'one');
    for (let i = 0; i < 51; i++) await send(ana, big, `b${i}`);
    const rest = await ana.get(`/v1/sync?cursors=${big}:0`);
    assert.deepEqual(rest.body.reset, [big]);
    assert.deepEqual(rest.body.changes.map((c: any) => [c.conversationId, c.seq, c.type]), [[small, 1, 'message:new']]);
    assert.equal((await ana.get(`/v1/sync?cursors=${big}:1,${small}:1`)).body.reset.length, 0);
    const near = await ana.get(`/v1/sync?cursors=${big}:40,${small}:1&limit=5`);
    assert.deepEqual(near.body.changes.map((c: any) => c.seq), [41, 42, 43, 44, 45]);
    assert.equal(near.body.hasMore, true);
    assert.deepEqual((await ana.get(`/v1/sync?cursors=${small}:99`)).body.reset.sort(), [small, big].sort());
    const gone = randomUUID();
    assert.deepEqual((await ana.post('/v1/sync', { cursors: { [gone]: 3 } })).body.removed, [gone]);
    assert.equal((await ana.get('/v1/sync?cursors=nope')).status, 400);
    await limited.close();
  });

  test('ten clients kicked every 500 ms for 8 rounds under a steady send rate each end with a complete, ordered log', async () => {
    const sender = h.as(uid('sender'));
    const readers = Array.from({ length: 10 }, () => uid('reader'));
    const id = await h.group(sender, readers);
    const replicas = readers.map(() => new Replica());
    let sending = true;
    let total = 0;
    const producer = (async () => {
      while (sending) {
        await send(sender, id, `steady ${total}`);
        total++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let appliedLive = 0;
    /** Documented flow: sync on connect; apply live events in seq order; on a gap, sync. */
    async function drain(i: number, rt: RtClient) {
      const replica = replicas[i]!;
      for (const e of rt.events) {
        if (e.event !== 'message:new' || e.data.seq <= (replica.cursors[id] ?? 0)) continue;
        if (e.data.seq === (replica.cursors[id] ?? 0) + 1) {
          replica.apply({ type: e.event, conversationId: id, seq: e.data.seq, data: e.data });
          appliedLive++;
        } else await replica.syncAll(rt);
      }
    }
    async function session(i: number) {
      const rt: RtClient = await (i % 2 ? socketClient : wsClient)(url, readers[i]!);
      await replicas[i]!.syncAll(rt);
      await drain(i, rt);
      return rt;
    }
    const kick = async (clients: RtClient[]) => {
      await Promise.all(clients.map((rt, i) => drain(i, rt)));
      await Promise.all(clients.map((c) => c.close()));
    };
    for (let round = 0; round < 8; round++) {
      const clients = await Promise.all(readers.map((_, i) => session(i)));
      await new Promise((r) => setTimeout(r, 500));
      await kick(clients);
    }
    sending = false;
    await producer;
    await kick(await Promise.all(readers.map((_, i) => session(i))));
    assert.ok(appliedLive > 0, 'live delivery carried part of the log');
    for (const r of replicas) {
      assert.deepEqual(r.seqs, Array.from({ length: total }, (_, i) => i + 1));
      assert.equal(r.messages.size, total);
    }
  });
});
