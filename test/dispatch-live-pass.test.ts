import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFcmChannel } from '../src/delivery/channels/fcm.ts';
import { QUEUES } from '../src/storage/job-queue.ts';
import type { Store } from '../src/storage/store.ts';
import { backends, skippedPostgres, type TestStore } from './helpers/backends.ts';
import { hex } from './helpers/delivery-rig.ts';
import { type Harness, harness, send, uid, waitFor } from './helpers/harness.ts';
import { type FakeFcm, fakeFcm } from './helpers/push/fcm.ts';
import { listen, wsClient } from './helpers/realtime.ts';

/**
 * The notification dispatcher settles its commonest drain, plain messages to members who are
 * reading live, with one read and one compare-and-set instead of a transaction: on PGlite's
 * one connection a transaction holds every send back (issue 9). Anything that may be owed a
 * notification still goes through the transaction.
 */
if (skippedPostgres) test('dispatcher live pass on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`the dispatcher's live pass on ${backend.name}`, () => {
    let h: Harness;
    let fcm: FakeFcm;
    let url: string;
    let transactions = 0;
    before(async () => {
      // FCM is the one push channel configured: a device on another platform cannot be pushed to.
      fcm = await fakeFcm();
      // A long coalescing window: a queued push waits for the rest of the test, whatever the load.
      h = await harness(backend, { PARLEY_PUSH_COALESCE_MS: '600000' }, { channels: { fcm: createFcmChannel({ serviceAccount: fcm.serviceAccount, endpoint: fcm.url }) } });
      url = await listen(h);
      // Drains run only when these tests say so.
      await h.app.services.dispatcher.stop(0);
      const transaction = h.store.transaction.bind(h.store);
      h.store.transaction = ((fn) => {
        transactions++;
        return transaction(fn);
      }) as Store['transaction'];
    });
    after(async () => {
      await h?.close();
      await fcm?.close();
    });

    const q = () => (h.store as TestStore).query;
    /** Messages in the log the dispatcher has not gone past. */
    const behind = async () => (await q()<{ n: number }>('SELECT ((SELECT pos FROM message_log_head) - (SELECT pos FROM notify_position))::int AS n'))[0]!.n;
    const pushJobsFor = async (userId: string) =>
      (await q()<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND data->'payload'->>'userId' = $2`, [QUEUES.push, userId]))[0]!.n;
    const drain = async () => {
      while (await h.app.services.dispatcher.drainOnce()) {}
    };
    const online = (userId: string) => h.app.services.presence.query({ userId }, [userId]).then(([p]) => p?.status === 'online');

    test('plain messages to live members move the position without a transaction; a mention or an offline member takes one', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const group = await h.group(ana, [bob.userId]);
      const live = await wsClient(url, bob.userId);
      try {
        await waitFor(() => online(bob.userId), 30_000, 'bob online');
        await drain(); // the group invitation: outbox work, through the transaction
        assert.equal(await behind(), 0);

        transactions = 0;
        await send(ana, group, 'one');
        await send(ana, group, 'two');
        assert.equal(await behind(), 2);
        await drain();
        assert.equal(transactions, 0, 'nothing but the position to write');
        assert.equal(await behind(), 0, 'and it moved past both');
        assert.equal(await pushJobsFor(bob.userId), 0, 'no push to a member reading live');

        // A mention of a live member lands in their inbox: the transaction writes it.
        await send(ana, group, 'look, bob', { mentions: [bob.userId] });
        await drain();
        assert.ok(transactions > 0, 'a mention is work');
        assert.equal(await behind(), 0);
        const inbox = (await bob.get('/v1/notifications?type=mention')).body.notifications;
        assert.equal(inbox.length, 1);
        assert.equal(inbox[0].data.conversationId, group);
      } finally {
        await live.close();
      }

      await waitFor(async () => !(await online(bob.userId)), 30_000, 'bob offline');
      transactions = 0;
      await send(ana, group, 'now you are away');
      await drain();
      assert.equal(transactions, 0, 'an offline member with no device to push to is owed nothing');
      assert.equal(await behind(), 0);
      assert.equal(await pushJobsFor(bob.userId), 0);

      assert.equal((await bob.post('/v1/me/devices', { platform: 'apns', token: hex(64) })).status, 201);
      await send(ana, group, 'your phone is one no channel here serves');
      await drain();
      assert.equal(transactions, 0, 'a device on a platform with no channel configured is owed nothing either');
      assert.equal(await pushJobsFor(bob.userId), 0);

      assert.equal((await bob.post('/v1/me/devices', { platform: 'fcm', token: `fcm-${uid()}` })).status, 201);
      await send(ana, group, 'now you have a phone');
      await drain();
      assert.ok(transactions > 0, 'an offline member with a device may be owed a push');
      assert.equal(await behind(), 0);
      assert.equal(await pushJobsFor(bob.userId), 1, 'and is: the conversation push is queued');

      // The push waiting out its coalescing window covers what comes next: nothing to write.
      transactions = 0;
      await send(ana, group, 'and another');
      await drain();
      assert.equal(transactions, 0, 'a push already waiting covers the next message: no transaction');
      assert.equal(await behind(), 0);
      assert.equal(await pushJobsFor(bob.userId), 1);
    });

    test('of two drains that read the same messages, only the first moves the position', async () => {
      const ana = h.as(uid('ana'));
      const group = await h.group(ana, [uid('cy')]);
      await drain();
      await send(ana, group, 'once');
      const { notifyWork } = h.store;
      const first = (await notifyWork.peekMessages(100))!;
      const second = (await notifyWork.peekMessages(100))!;
      assert.deepEqual(second, first);
      assert.equal(first.count, 1);
      assert.equal(first.mentions, false);
      assert.deepEqual(first.senders, [{ conversationId: group, senderId: ana.userId }]);
      assert.equal(await notifyWork.advanceMessages(first.pos, first.lastPos), true);
      assert.equal(await notifyWork.advanceMessages(second.pos, second.lastPos), false, 'the second finds it moved');
      assert.equal(await behind(), 0);
      const after = (await notifyWork.peekMessages(100))!;
      assert.deepEqual([after.pos, after.count, after.senders], [first.lastPos, 0, []], 'nothing is listed again');
    });
  });
}
