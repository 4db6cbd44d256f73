import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { type Harness, harness, send, uid } from './helpers/harness.ts';

if (skippedPostgres) test('messages on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`messages on ${backend.name}`, () => {
    let h: Harness;
    before(async () => {
      h = await harness(backend);
    });
    after(() => h.close());

    test('a sent message comes back whole, with attachments, and is in history', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const id = await h.group(ana, [bob.userId]);
      const attachments = [{ url: 'https://cdn.example/a.png', name: 'a.png', size: 1234, mimeType: 'image/png' }];
      const res = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'c1', body: 'héllo 😀', attachments, mentions: [bob.userId] });
      assert.equal(res.status, 201);
      const m = res.body.message;
      assert.equal(m.conversationId, id);
      assert.equal(m.seq, 1);
      assert.equal(m.senderId, ana.userId);
      assert.equal(m.clientMsgId, 'c1');
      assert.equal(m.body, 'héllo 😀');
      assert.deepEqual(m.attachments, attachments);
      assert.deepEqual(m.mentions, [bob.userId]);
      assert.deepEqual(m.reactions, []);
      assert.equal(m.replyTo, null);
      assert.equal(m.editedAt, null);
      assert.equal(m.deletedAt, null);
      const history = await bob.get(`/v1/conversations/${id}/messages`);
      assert.deepEqual(history.body.messages[0], m);
      assert.equal((await bob.get(`/v1/messages/${m.id}`)).body.message.body, 'héllo 😀');
    });

    test('mentions must name members', async () => {
      const ana = h.as(uid('ana'));
      const id = await h.group(ana, []);
      const res = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'c', body: 'hi', mentions: [uid('stranger')] });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_mention');
      assert.equal((await ana.get(`/v1/conversations/${id}`)).body.conversation.lastSeq, 0);
    });

    test('replies thread under a message of the same conversation and keep its reply count', async () => {
      const ana = h.as(uid('ana'));
      const id = await h.group(ana, []);
      const root = await send(ana, id, 'root');
      const r1 = await send(ana, id, 'r1', { replyTo: root.id });
      await send(ana, id, 'r2', { replyTo: root.id });
      await send(ana, id, 'not a reply');
      assert.equal(r1.replyTo, root.id);
      assert.equal((await ana.get(`/v1/messages/${root.id}`)).body.message.replyCount, 2);
      const thread = await ana.get(`/v1/conversations/${id}/messages?replyTo=${root.id}`);
      assert.deepEqual(thread.body.messages.map((m: { body: string }) => m.body), ['r1', 'r2']);
      await ana.delete(`/v1/messages/${r1.id}`);
      assert.equal((await ana.get(`/v1/messages/${root.id}`)).body.message.replyCount, 1);
      const other = await h.group(ana, []);
      const cross = await ana.post(`/v1/conversations/${other}/messages`, { clientMsgId: 'x', body: 'x', replyTo: root.id });
      assert.equal(cross.body.error.code, 'invalid_reply');
    });

    test('history pages by seq in both directions, 50 by default and at most 200', async () => {
      const ana = h.as(uid('ana'));
      const id = await h.group(ana, []);
      for (let i = 1; i <= 60; i++) await send(ana, id, `m${i}`);
      const newest = await ana.get(`/v1/conversations/${id}/messages`);
      assert.equal(newest.body.messages.length, 50);
      assert.equal(newest.body.hasMore, true);
      assert.equal(newest.body.messages[0].body, 'm11');
      assert.equal(newest.body.messages[49].body, 'm60');
      const older = await ana.get(`/v1/conversations/${id}/messages?before=11&limit=50`);
      assert.deepEqual(older.body.messages.map((m: { seq: number }) => m.seq), Array.from({ length: 10 }, (_, i) => i + 1));
      assert.equal(older.body.hasMore, false);
      const forward = await ana.get(`/v1/conversations/${id}/messages?after=55`);
      assert.deepEqual(forward.body.messages.map((m: { seq: number }) => m.seq), [56, 57, 58, 59, 60]);
      assert.equal(forward.body.hasMore, false);
      const window = await ana.get(`/v1/conversations/${id}/messages?after=10&limit=3`);
      assert.deepEqual(window.body.messages.map((m: { seq: number }) => m.seq), [11, 12, 13]);
      assert.equal(window.body.hasMore, true);
      assert.equal((await ana.get(`/v1/conversations/${id}/messages?limit=201`)).status, 400);
      assert.equal((await ana.get(`/v1/conversations/${id}/messages?limit=200`)).body.messages.length, 60);
    });

    test('only the sender edits; an edit sets editedAt and keeps the message in place', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const id = await h.group(ana, [bob.userId]);
      const m = await send(ana, id, 'typo');
      const denied = await bob.patch(`/v1/messages/${m.id}`, { body: 'hacked' });
      assert.equal(denied.status, 403);
      const edited = await ana.patch(`/v1/messages/${m.id}`, { body: 'fixed' });
      assert.equal(edited.status, 200);
      assert.equal(edited.body.message.body, 'fixed');
      assert.equal(edited.body.message.seq, m.seq);
      assert.ok(edited.body.message.editedAt);
      const log = await h.store.events.since(id, 1, 10);
      assert.equal(log.length, 1);
      assert.equal(log[0]!.type, 'message:updated');
    });

    test('delete leaves a tombstone without content; admins may delete, members may not', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const id = await h.group(ana, [bob.userId]);
      const m = await send(bob, id, 'regret', { attachments: [{ url: 'https://x/y' }], mentions: [ana.userId] });
      await ana.post(`/v1/messages/${m.id}/reactions`, { emoji: '😂' });
      const mine = await send(ana, id, 'owner message');
      assert.equal((await bob.delete(`/v1/messages/${mine.id}`)).status, 403);
      const deleted = await ana.delete(`/v1/messages/${m.id}`); // the owner moderates
      assert.equal(deleted.status, 200);
      const t = deleted.body.message;
      assert.equal(t.body, '');
      assert.deepEqual(t.attachments, []);
      assert.deepEqual(t.mentions, []);
      assert.deepEqual(t.reactions, []);
      assert.ok(t.deletedAt);
      assert.equal(t.id, m.id);
      const history = (await bob.get(`/v1/conversations/${id}/messages`)).body.messages;
      assert.equal(history.find((x: { id: string }) => x.id === m.id).deletedAt, t.deletedAt);
      assert.equal((await bob.patch(`/v1/messages/${m.id}`, { body: 'again' })).body.error.code, 'message_deleted');
      assert.equal((await ana.post(`/v1/messages/${m.id}/reactions`, { emoji: '👍' })).body.error.code, 'message_deleted');
      const selfDeleted = await send(bob, id, 'mine to delete');
      await bob.delete(`/v1/messages/${selfDeleted.id}`);
      assert.equal((await bob.patch(`/v1/messages/${selfDeleted.id}`, { body: 'edit' })).body.error.code, 'message_deleted');
    });

    test('reactions: one per user per emoji, grouped in order of first use', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const id = await h.group(ana, [bob.userId]);
      const m = await send(ana, id, 'react to me');
      await ana.post(`/v1/messages/${m.id}/reactions`, { emoji: '👍' });
      await bob.post(`/v1/messages/${m.id}/reactions`, { emoji: '👍' });
      await bob.post(`/v1/messages/${m.id}/reactions`, { emoji: '👍' });
      const r = await bob.post(`/v1/messages/${m.id}/reactions`, { emoji: '❤️' });
      assert.deepEqual(r.body.message.reactions, [
        { emoji: '👍', count: 2, userIds: [ana.userId, bob.userId] },
        { emoji: '❤️', count: 1, userIds: [bob.userId] },
      ]);
      const removed = await ana.delete(`/v1/messages/${m.id}/reactions/${encodeURIComponent('👍')}`);
      assert.deepEqual(removed.body.message.reactions, [
        { emoji: '👍', count: 1, userIds: [bob.userId] },
        { emoji: '❤️', count: 1, userIds: [bob.userId] },
      ]);
      assert.deepEqual((await ana.get(`/v1/conversations/${id}/messages`)).body.messages[0].reactions, removed.body.message.reactions);
    });

    test('markers: never backwards, clamped to the last seq; sending marks the sender read', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const id = await h.group(ana, [bob.userId]);
      for (let i = 0; i < 5; i++) await send(ana, id, `m${i}`);
      let r = await bob.post(`/v1/conversations/${id}/read`, { seq: 3 });
      assert.deepEqual([r.body.readSeq, r.body.deliveredSeq, r.body.unreadCount], [3, 3, 2]);
      r = await bob.post(`/v1/conversations/${id}/read`, { seq: 1 });
      assert.deepEqual([r.body.readSeq, r.body.unreadCount], [3, 2]);
      r = await bob.post(`/v1/conversations/${id}/delivered`, { seq: 1000 });
      assert.deepEqual([r.body.readSeq, r.body.deliveredSeq], [3, 5]);
      r = await bob.post(`/v1/conversations/${id}/read`);
      assert.deepEqual([r.body.readSeq, r.body.unreadCount, r.body.totalUnread], [5, 0, 0]);
      await send(ana, id, 'six');
      await send(bob, id, 'seven'); // bob's send marks everything before it read
      const conv = (await bob.get(`/v1/conversations/${id}`)).body.conversation;
      assert.equal(conv.unreadCount, 0);
      assert.equal(conv.members.find((m: { userId: string }) => m.userId === bob.userId).readSeq, 7);
    });

    test('the sender sees each message sent, delivered or read, per member in groups', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const cy = h.as(uid('cy'));
      const id = await h.group(ana, [bob.userId, cy.userId]);
      const m = await send(ana, id, 'status?');
      const status = async () => (await ana.get(`/v1/conversations/${id}/messages`)).body.messages[0].status;
      assert.equal(await status(), 'sent');
      await bob.post(`/v1/conversations/${id}/delivered`, { seq: m.seq });
      assert.equal(await status(), 'sent');
      await cy.post(`/v1/conversations/${id}/delivered`, { seq: m.seq });
      assert.equal(await status(), 'delivered');
      await bob.post(`/v1/conversations/${id}/read`, { seq: m.seq });
      const receipts = (await ana.get(`/v1/messages/${m.id}/receipts`)).body;
      assert.equal(receipts.status, 'delivered');
      assert.deepEqual(
        Object.fromEntries(receipts.members.map((x: { userId: string; status: string }) => [x.userId, x.status])),
        { [bob.userId]: 'read', [cy.userId]: 'delivered' },
      );
      await cy.post(`/v1/conversations/${id}/read`, { seq: m.seq });
      assert.equal(await status(), 'read');
      assert.equal((await ana.get(`/v1/messages/${m.id}`)).body.message.status, 'read');
      // A later message is read by nobody yet: statuses are per message, not per page.
      await send(ana, id, 'later');
      assert.deepEqual((await ana.get(`/v1/conversations/${id}/messages`)).body.messages.map((x: { status: string }) => x.status), ['read', 'sent']);
      // Only the sender's own messages carry a status.
      assert.equal((await bob.get(`/v1/conversations/${id}/messages`)).body.messages[0].status, undefined);
      assert.equal((await bob.get(`/v1/messages/${m.id}`)).body.message.status, undefined);
      // Non-members see neither the page nor the message.
      const eve = h.as(uid('eve'));
      assert.equal((await eve.get(`/v1/conversations/${id}/messages`)).status, 404);
      assert.equal((await eve.get(`/v1/messages/${m.id}`)).status, 404);
      // Alone in a group, nobody else can receive it: sent.
      const solo = await h.group(cy, []);
      await send(cy, solo, 'to nobody');
      assert.equal((await cy.get(`/v1/conversations/${solo}/messages`)).body.messages[0].status, 'sent');
    });

    test('receipts come a page at a time, by user id, and their overall status counts every other member', async () => {
      const ana = h.as(uid('ana'));
      const others = Array.from({ length: 5 }, (_, k) => h.as(uid(`rc${k}`)));
      const id = await h.group(ana, others.map((o) => o.userId));
      const m = await send(ana, id, 'paged');
      const byId = others.map((o) => o.userId).sort();
      // All but the last by id read it; that one has not even received it.
      for (const o of others) if (o.userId !== byId.at(-1)) await o.post(`/v1/conversations/${id}/read`, { seq: m.seq });
      const pages: { status: string; members: { userId: string; status: string }[]; nextCursor: string | null }[] = [];
      let cursor: string | null = null;
      do {
        const r: { status: number; body: (typeof pages)[number] } = await ana.get(`/v1/messages/${m.id}/receipts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200);
        pages.push(r.body);
        cursor = r.body.nextCursor;
      } while (cursor && pages.length < 10);
      assert.deepEqual(
        pages.map((p) => p.members.length),
        [2, 2, 1],
      );
      assert.deepEqual(
        pages.flatMap((p) => p.members.map((x) => x.userId)),
        byId,
      );
      assert.deepEqual(
        pages.flatMap((p) => p.members.map((x) => x.status)),
        ['read', 'read', 'read', 'read', 'sent'],
      );
      // Every page, the first (two readers) included, says what all five did.
      assert.deepEqual(
        pages.map((p) => p.status),
        ['sent', 'sent', 'sent'],
      );
      // 100 a page unless asked.
      const whole = (await ana.get(`/v1/messages/${m.id}/receipts`)).body;
      assert.deepEqual([whole.members.length, whole.nextCursor], [5, null]);
      // Another member's message: everyone but its sender, the caller included.
      const theirs = await send(others[0]!, id, 'mine');
      const ids = (await ana.get(`/v1/messages/${theirs.id}/receipts`)).body.members.map((x: { userId: string }) => x.userId);
      assert.deepEqual(ids, [ana.userId, ...byId.filter((u) => u !== others[0]!.userId)].sort());
      // A cursor this server did not issue, or a page size out of bounds, is refused.
      await h.group(ana, []);
      const conversationsCursor = (await ana.get('/v1/conversations?limit=1')).body.nextCursor;
      assert.ok(conversationsCursor);
      for (const q of ['cursor=nope', `cursor=${conversationsCursor}`, `cursor=${Buffer.from('["user","a b"]').toString('base64url')}`, 'limit=0', 'limit=1001']) {
        const r = await ana.get(`/v1/messages/${m.id}/receipts?${q}`);
        assert.deepEqual([r.status, r.body.error?.code], [400, 'validation_failed'], q);
      }
      assert.equal((await h.as(uid('eve')).get(`/v1/messages/${m.id}/receipts`)).status, 404);
    });
  });
}
