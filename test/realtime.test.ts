import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, send, uid, waitFor } from './helpers/harness.ts';
import { gateways, listen } from './helpers/realtime.ts';

describe('realtime delivery', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend);
    url = await listen(h);
  });
  after(() => h.close());

  for (const gw of gateways) {
    describe(`over ${gw.name}`, () => {
      test('a command is acked with the stored message; members and the sender\'s other devices get message:new', async () => {
        const ana = h.as(uid('ana'));
        const bob = h.as(uid('bob'));
        const id = await h.group(ana, [bob.userId]);
        const anaPhone = await gw.connect(url, ana.userId);
        const anaLaptop = await gw.connect(url, ana.userId);
        const bobRt = await gw.connect(url, bob.userId);
        const eve = await gw.connect(url, uid('eve'));
        try {
          const ack = await anaPhone.send('message:send', { conversationId: id, clientMsgId: randomUUID(), body: 'hi bob' });
          assert.equal(ack.ok, true);
          assert.equal(ack.data.body, 'hi bob');
          const atBob = await bobRt.next('message:new');
          assert.deepEqual(atBob, { conversationId: id, seq: ack.data.seq, message: ack.data });
          assert.equal((await anaLaptop.next('message:new')).message.id, ack.data.id);
          // A message over REST reaches realtime clients the same way.
          const viaRest = await send(bob, id, 'from rest');
          assert.equal((await anaPhone.next('message:new', (d) => d.message.id === viaRest.id)).seq, viaRest.seq);
          // The sending connection had its message in the ack: it is not echoed back to it.
          assert.equal(anaPhone.events.some((e) => e.event === 'message:new' && e.data.message.id === ack.data.id), false);
          // Isolation: the non-member saw nothing.
          await eve.send('heartbeat');
          const foreign = eve.events.filter((e) => e.event !== 'ready' && !(e.event === 'presence:update' && e.data.userId === eve.userId));
          assert.deepEqual(foreign, []);
        } finally {
          await Promise.all([anaPhone, anaLaptop, bobRt, eve].map((c) => c.close()));
        }
      });

      test('errors come back as acks with a code; unknown commands too', async () => {
        const c = await gw.connect(url, uid('x'));
        try {
          assert.deepEqual((await c.send('nope', {})).error?.code, 'unknown_command');
          assert.equal((await c.send('message:send', { conversationId: randomUUID(), clientMsgId: 'a', body: 'x' })).error?.code, 'not_found');
          assert.equal((await c.send('message:send', { conversationId: 'bad', body: 1 })).error?.code, 'validation_failed');
          assert.equal((await c.send('message:send', { conversationId: randomUUID(), clientMsgId: 'a', body: 'x', extra: 1 })).error?.code, 'validation_failed');
        } finally {
          await c.close();
        }
      });

      test('joining takes effect at once, removal stops events at once', async () => {
        const ana = h.as(uid('ana'));
        const bob = h.as(uid('bob'));
        const id = await h.group(ana, []);
        const bobRt = await gw.connect(url, bob.userId);
        try {
          await ana.post(`/v1/conversations/${id}/members`, { userIds: [bob.userId] });
          await bobRt.next('member:joined', (d) => d.member.userId === bob.userId);
          const m = await send(ana, id, 'welcome');
          assert.equal((await bobRt.next('message:new')).message.id, m.id);
          await ana.delete(`/v1/conversations/${id}/members/${bob.userId}`);
          await bobRt.next('member:left', (d) => d.userId === bob.userId);
          await send(ana, id, 'after you left');
          // A marker event after the removal proves ordering: bob gets his own presence echo, not the message.
          await bobRt.send('presence:set', { status: 'away' });
          await bobRt.next('presence:update', (d) => d.status === 'away');
          assert.equal(bobRt.events.filter((e) => e.event === 'message:new').length, 1);
        } finally {
          await bobRt.close();
        }
      });

      test('typing reaches the other members only, and stops when the typer disconnects', async () => {
        const ana = h.as(uid('ana'));
        const bob = h.as(uid('bob'));
        const id = await h.group(ana, [bob.userId]);
        const anaRt = await gw.connect(url, ana.userId);
        const bobRt = await gw.connect(url, bob.userId);
        try {
          assert.equal((await anaRt.send('typing:start', { conversationId: id })).ok, true);
          assert.deepEqual(await bobRt.next('typing:update', (d) => d.typing), { conversationId: id, userId: ana.userId, typing: true });
          await anaRt.send('typing:start', { conversationId: id }); // debounced: no second event
          await anaRt.close();
          await bobRt.next('typing:update', (d) => !d.typing);
          assert.equal(bobRt.events.filter((e) => e.event === 'typing:update' && e.data.typing).length, 1);
          assert.equal(anaRt.events.some((e) => e.event === 'typing:update'), false);
        } finally {
          await bobRt.close();
        }
      });

      test('reads send receipt:updated to the others and unread:update to all of the reader\'s devices', async () => {
        const ana = h.as(uid('ana'));
        const bob = h.as(uid('bob'));
        const id = await h.group(ana, [bob.userId]);
        const m = await send(ana, id, 'read me');
        const anaRt = await gw.connect(url, ana.userId);
        const bob1 = await gw.connect(url, bob.userId);
        const bob2 = await gw.connect(url, bob.userId);
        try {
          assert.equal((await bob1.send('conversation:delivered', { conversationId: id })).data.deliveredSeq, m.seq);
          await anaRt.next('receipt:updated', (d) => d.deliveredSeq === m.seq && d.readSeq === 0);
          const ack = await bob1.send('conversation:read', { conversationId: id, seq: m.seq });
          assert.equal(ack.data.unreadCount, 0);
          assert.deepEqual(await anaRt.next('receipt:updated', (d) => d.readSeq === m.seq), { conversationId: id, userId: bob.userId, readSeq: m.seq, deliveredSeq: m.seq });
          assert.equal((await bob2.next('unread:update', (d) => d.unreadCount === 0)).totalUnread, 0);
        } finally {
          await Promise.all([anaRt, bob1, bob2].map((c) => c.close()));
        }
      });

      test('edit locks: only who may edit locks; others are told; the lock goes with the connection, or when its holder leaves', async () => {
        const ana = h.as(uid('ana'));
        const bob = h.as(uid('bob'));
        const id = await h.group(ana, [bob.userId]);
        const bobs = await send(bob, id, 'my note');
        const anas = await send(ana, id, 'her note');
        const anaRt = await gw.connect(url, ana.userId);
        let bobRt = await gw.connect(url, bob.userId);
        try {
          // Someone else's message: no lock, and its sender's edit goes through.
          assert.equal((await bobRt.send('message:lock', { messageId: anas.id })).error?.code, 'forbidden');
          assert.equal((await anaRt.send('message:edit', { messageId: anas.id, body: 'edited' })).ok, true);
          // One's own: locked, and the others are told; the connection going releases it.
          const lock = await bobRt.send('message:lock', { messageId: bobs.id });
          assert.equal(lock.ok, true);
          assert.equal((await anaRt.next('message:locked', (d) => d.messageId === bobs.id && d.locked)).userId, bob.userId);
          await bobRt.close();
          await anaRt.next('message:locked', (d) => d.messageId === bobs.id && !d.locked);
          // Taken again, then its holder leaves the group: released and announced.
          bobRt = await gw.connect(url, bob.userId);
          assert.equal((await bobRt.send('message:lock', { messageId: bobs.id })).ok, true);
          const seen = (locked: boolean) => anaRt.events.filter((e) => e.event === 'message:locked' && e.data.messageId === bobs.id && e.data.locked === locked).length;
          await waitFor(() => seen(true) === 2, 30_000, 'the second lock to be announced');
          assert.equal((await bob.delete(`/v1/conversations/${id}/members/${bob.userId}`)).status, 204);
          await waitFor(() => seen(false) === 2, 30_000, "the leaver's lock to be released");
          // A deleted message cannot be locked by anyone.
          await ana.delete(`/v1/messages/${anas.id}`);
          assert.equal((await anaRt.send('message:lock', { messageId: anas.id })).error?.code, 'message_deleted');
        } finally {
          await Promise.all([anaRt.close(), bobRt.close()]);
        }
      });
    });
  }

  test('a member removed while holding a lock loses it (removed over REST, told over realtime)', async () => {
    const ana = h.as(uid('ana'));
    const bob = h.as(uid('bob'));
    const id = await h.group(ana, [bob.userId]);
    const m = await send(bob, id, 'note');
    const bobRt = await gateways[1].connect(url, bob.userId);
    const anaRt = await gateways[0].connect(url, ana.userId);
    try {
      assert.equal((await bobRt.send('message:lock', { messageId: m.id })).ok, true);
      await anaRt.next('message:locked', (d) => d.messageId === m.id && d.locked);
      assert.equal((await ana.delete(`/v1/conversations/${id}/members/${bob.userId}`)).status, 204);
      const unlocked = await anaRt.next('message:locked', (d) => d.messageId === m.id && !d.locked);
      assert.equal(unlocked.userId, bob.userId);
    } finally {
      await Promise.all([anaRt.close(), bobRt.close()]);
    }
  });
});
