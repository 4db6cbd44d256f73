import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { type Client, type Harness, harness, send, uid } from './helpers/harness.ts';
import { gateways, listen } from './helpers/realtime.ts';

/**
 * UUIDs have one form (docs/ids.md): any case is accepted, lower case is what every
 * gateway stores, compares and sends. An upper-case id must name the same conversation,
 * message or notification as its lower-case form on REST and realtime alike, and a sync
 * cursor keyed by it must not be read as an unknown conversation (resent from seq 1).
 */
describe('canonical ids', () => {
  let h: Harness;
  let url: string;
  let ana: Client;
  let bob: Client;
  let conversationId: string;
  let firstId: string;
  const UP = (id: string) => id.toUpperCase();

  before(async () => {
    h = await harness(pgliteBackend);
    url = await listen(h);
    ana = h.as(uid('ana'));
    bob = h.as(uid('bob'));
    conversationId = await h.group(ana, [bob.userId]);
    firstId = (await send(ana, conversationId, 'one')).id;
    await send(ana, conversationId, 'two');
  });
  after(() => h.close());

  const lastSeq = async () => (await ana.get(`/v1/conversations/${conversationId}`)).body.conversation.lastSeq as number;

  test('REST: an upper-case id names the same resource, and answers carry the lower-case form', async () => {
    const got = await ana.get(`/v1/conversations/${UP(conversationId)}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.conversation.id, conversationId);
    const sent = await ana.post(`/v1/conversations/${UP(conversationId)}/messages`, { clientMsgId: uid('c'), body: 'reply', replyTo: UP(firstId) });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.message.conversationId, conversationId);
    assert.equal(sent.body.message.replyTo, firstId);
    const thread = await ana.get(`/v1/conversations/${conversationId}/messages?replyTo=${UP(firstId)}`);
    assert.deepEqual(thread.body.messages.map((m: { body: string }) => m.body), ['reply']);
    assert.equal((await ana.get(`/v1/messages/${UP(firstId)}`)).body.message.id, firstId);
  });

  test('REST sync: a cursor keyed by the upper-case id resumes after its seq, and is not "removed"', async () => {
    const seq = await lastSeq();
    await send(ana, conversationId, 'after the cursor');
    for (const res of [await bob.get(`/v1/sync?cursors=${UP(conversationId)}:${seq}`), await bob.post('/v1/sync', { cursors: { [UP(conversationId)]: seq } })]) {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const mine = res.body.changes.filter((c: { conversationId: string }) => c.conversationId === conversationId);
      assert.deepEqual(mine.map((c: { seq: number }) => c.seq), [seq + 1]);
      assert.deepEqual(res.body.removed, []);
      assert.ok(res.body.changes.every((c: { conversationId: string }) => c.conversationId === c.conversationId.toLowerCase()));
    }
  });

  test('the same conversation named twice in different cases is refused', async () => {
    const twice = await bob.post('/v1/sync', { cursors: { [UP(conversationId)]: 1, [conversationId]: 2 } });
    assert.equal(twice.status, 400);
    assert.equal(twice.body.error.code, 'validation_failed');
    const query = await bob.get(`/v1/sync?cursors=${UP(conversationId)}:1,${conversationId}:2`);
    assert.equal(query.status, 400);
    assert.equal(query.body.error.code, 'validation_failed');
  });

  test('notifications and devices: upper-case ids in paths', async () => {
    const sent = await h.admin().post('/v1/notifications', { userIds: [ana.userId], type: 'system', title: 'T', body: 'B' });
    const id = sent.body.notifications[0].id as string;
    const read = await ana.post(`/v1/notifications/${UP(id)}/read`);
    assert.equal(read.status, 200);
    assert.equal(read.body.notification.id, id);
    const device = await ana.post('/v1/me/devices', { platform: 'fcm', token: `fcm-${uid()}` });
    assert.equal((await ana.delete(`/v1/me/devices/${UP(device.body.device.id)}`)).status, 204);
    assert.deepEqual((await ana.get('/v1/me/devices')).body.devices, []);
  });

  for (const gw of gateways) {
    test(`${gw.name}: commands with upper-case ids act on the same conversation; events and acks carry the lower-case id`, async () => {
      const anaRt = await gw.connect(url, ana.userId);
      const bobRt = await gw.connect(url, bob.userId);
      try {
        const seq = await lastSeq();
        const ack = await anaRt.send('message:send', { conversationId: UP(conversationId), clientMsgId: uid('rt'), body: `over ${gw.name}`, replyTo: UP(firstId) });
        assert.equal(ack.ok, true, JSON.stringify(ack));
        assert.equal(ack.data.conversationId, conversationId);
        const event = await bobRt.next('message:new', (d) => d.message.id === ack.data.id);
        assert.equal(event.conversationId, conversationId);

        await anaRt.send('typing:start', { conversationId: UP(conversationId) });
        const typing = await bobRt.next('typing:update', (d) => d.userId === ana.userId && d.typing);
        assert.equal(typing.conversationId, conversationId);

        const synced = await bobRt.send('sync', { cursors: { [UP(conversationId)]: seq } });
        assert.equal(synced.ok, true, JSON.stringify(synced));
        const mine = synced.data.changes.filter((c: { conversationId: string }) => c.conversationId === conversationId);
        assert.deepEqual(mine.map((c: { seq: number }) => c.seq), [seq + 1]);
        assert.deepEqual(synced.data.removed, []);

        const read = await bobRt.send('conversation:read', { conversationId: UP(conversationId) });
        assert.equal(read.ok, true, JSON.stringify(read));
        assert.equal(read.data.conversationId, conversationId);
      } finally {
        await anaRt.close();
        await bobRt.close();
      }
    });
  }
});
