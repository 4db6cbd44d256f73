import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { type Harness, harness, send, uid } from './helpers/harness.ts';

if (skippedPostgres) test('invariants on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`invariants on ${backend.name}`, () => {
    let h: Harness;
    before(async () => {
      h = await harness(backend);
    });
    after(() => h.close());

    test('invariant 3: 200 racing sends from several users take seqs 1..200, no gap, no duplicate', async () => {
      const users = Array.from({ length: 5 }, () => h.as(uid('racer')));
      const id = await h.group(users[0]!, users.slice(1).map((u) => u.userId));
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => users[i % users.length]!.post(`/v1/conversations/${id}/messages`, { clientMsgId: `m-${i}`, body: `message ${i}` })),
      );
      assert.deepEqual(new Set(results.map((r) => r.status)), new Set([201]));
      const seqs = results.map((r) => r.body.message.seq).sort((a, b) => a - b);
      assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i + 1));
      // The log agrees: one entry per seq, each the message that took it.
      const log = await h.store.events.since(id, 0, 1000);
      assert.deepEqual(log.map((e) => e.seq), seqs);
      const bySeq = new Map(results.map((r) => [r.body.message.seq, r.body.message.id]));
      for (const e of log) assert.equal(e.type === 'message:new' && e.data.message.id, bySeq.get(e.seq));
    });

    test('invariant 3: edits, deletes, reactions and membership take the next contiguous seq too', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const id = await h.group(ana, [bob.userId]);
      const m1 = await send(ana, id, 'one');
      assert.equal((await ana.patch(`/v1/messages/${m1.id}`, { body: 'one!' })).status, 200);
      assert.equal((await bob.post(`/v1/messages/${m1.id}/reactions`, { emoji: '👍' })).status, 200);
      assert.equal((await h.as(uid('x')).get(`/v1/conversations/${id}`)).status, 404);
      assert.equal((await ana.post(`/v1/conversations/${id}/members`, { userIds: [uid('cy')] })).status, 200);
      assert.equal((await ana.patch(`/v1/conversations/${id}`, { title: 'renamed' })).status, 200);
      assert.equal((await bob.delete(`/v1/messages/${m1.id}/reactions/${encodeURIComponent('👍')}`)).status, 200);
      assert.equal((await ana.delete(`/v1/messages/${m1.id}`)).status, 200);
      const m2 = await send(bob, id, 'two');
      const log = await h.store.events.since(id, 0, 100);
      assert.deepEqual(
        log.map((e) => [e.seq, e.type]),
        [
          [1, 'message:new'],
          [2, 'message:updated'],
          [3, 'reaction:updated'],
          [4, 'member:joined'],
          [5, 'conversation:updated'],
          [6, 'reaction:updated'],
          [7, 'message:deleted'],
          [8, 'message:new'],
        ],
      );
      assert.equal(m2.seq, 8);
      // No-ops take no seq: removing an absent reaction, deleting twice, re-adding a member.
      await bob.delete(`/v1/messages/${m2.id}/reactions/x`);
      await ana.delete(`/v1/messages/${m1.id}`);
      await ana.post(`/v1/conversations/${id}/members`, { userIds: [bob.userId] });
      assert.equal((await ana.get(`/v1/conversations/${id}`)).body.conversation.lastSeq, 8);
    });

    test('invariant 2: a retried clientMsgId returns the original, even with another body and after other messages', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const id = await h.group(ana, [bob.userId]);
      const first = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'same', body: 'original' });
      assert.equal(first.status, 201);
      await send(bob, id, 'in between');
      await send(ana, id, 'another');
      const retry = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'same', body: 'changed', mentions: [bob.userId] });
      assert.equal(retry.status, 200);
      assert.deepEqual(retry.body.message, first.body.message);
      // Even changed into something that would be refused as a new message.
      const invalid = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'same', body: 'x', mentions: [uid('stranger')], replyTo: first.body.message.id });
      assert.equal(invalid.status, 200);
      assert.deepEqual(invalid.body.message, first.body.message);
      // Another sender may use the same clientMsgId: the key is per sender.
      const bobs = await bob.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'same', body: 'mine' });
      assert.equal(bobs.status, 201);
      const history = await ana.get(`/v1/conversations/${id}/messages`);
      assert.equal(history.body.messages.length, 4);
      assert.equal((await ana.get(`/v1/conversations/${id}`)).body.conversation.lastSeq, 4);
    });

    test('invariant 2: concurrent retries of one clientMsgId create exactly one message', async () => {
      const ana = h.as(uid('ana'));
      const id = await h.group(ana, []);
      const key = randomUUID();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: key, body: `try ${i}` })));
      assert.equal(results.filter((r) => r.status === 201).length, 1);
      assert.equal(new Set(results.map((r) => r.body.message.id)).size, 1);
      const log = await h.store.events.since(id, 0, 100);
      assert.equal(log.length, 1);
    });

    test('invariant 8: a non-member gets 404 on every conversation and message route, and sees nothing', async () => {
      const ana = h.as(uid('ana'));
      const eve = h.as(uid('eve'));
      const id = await h.group(ana, []);
      const m = await send(ana, id, 'secret');
      const calls: [string, string, unknown?][] = [
        ['GET', `/v1/conversations/${id}`],
        ['PATCH', `/v1/conversations/${id}`, { title: 'x' }],
        ['GET', `/v1/conversations/${id}/messages`],
        ['POST', `/v1/conversations/${id}/messages`, { clientMsgId: 'x', body: 'x' }],
        ['POST', `/v1/conversations/${id}/members`, { userIds: [eve.userId] }],
        ['DELETE', `/v1/conversations/${id}/members/${ana.userId}`],
        ['DELETE', `/v1/conversations/${id}/members/${eve.userId}`],
        ['PATCH', `/v1/conversations/${id}/members/${ana.userId}`, { role: 'admin' }],
        ['POST', `/v1/conversations/${id}/read`, { seq: 1 }],
        ['POST', `/v1/conversations/${id}/delivered`, { seq: 1 }],
        ['POST', `/v1/conversations/${id}/archive`],
        ['DELETE', `/v1/conversations/${id}/archive`],
        ['POST', `/v1/conversations/${id}/mute`, {}],
        ['DELETE', `/v1/conversations/${id}/mute`],
        ['GET', `/v1/messages/${m.id}`],
        ['PATCH', `/v1/messages/${m.id}`, { body: 'x' }],
        ['DELETE', `/v1/messages/${m.id}`],
        ['GET', `/v1/messages/${m.id}/receipts`],
        ['POST', `/v1/messages/${m.id}/reactions`, { emoji: '👍' }],
        ['DELETE', `/v1/messages/${m.id}/reactions/${encodeURIComponent('👍')}`],
      ];
      for (const [method, url, body] of calls) {
        const res = await eve.request(method, url, body);
        assert.equal(res.status, 404, `${method} ${url} answered ${res.status}`);
        assert.equal(res.body.error.code, 'not_found', `${method} ${url}`);
        assert.ok(!JSON.stringify(res.body).includes('secret'), `${method} ${url} leaked data`);
      }
      // A reply may not point into a conversation the sender is not in either.
      const own = await h.group(eve, []);
      const reply = await eve.post(`/v1/conversations/${own}/messages`, { clientMsgId: 'r', body: 'x', replyTo: m.id });
      assert.equal(reply.body.error?.code, 'invalid_reply');
      assert.equal((await eve.get('/v1/conversations')).body.conversations.some((c: { id: string }) => c.id === id), false);
      // Nothing changed: the log still holds only ana's message.
      assert.equal((await h.store.events.since(id, 0, 10)).length, 1);
      // A removed member loses access at once.
      const bob = h.as(uid('bob'));
      await ana.post(`/v1/conversations/${id}/members`, { userIds: [bob.userId] });
      assert.equal((await bob.get(`/v1/messages/${m.id}`)).status, 200);
      await ana.delete(`/v1/conversations/${id}/members/${bob.userId}`);
      assert.equal((await bob.get(`/v1/messages/${m.id}`)).status, 404);
      assert.equal((await bob.get(`/v1/conversations/${id}/messages`)).status, 404);
    });
  });
}
