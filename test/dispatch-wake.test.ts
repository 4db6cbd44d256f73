import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createFcmChannel } from '../src/delivery/channels/fcm.ts';
import { QUEUES } from '../src/storage/job-queue.ts';
import { pgliteBackend, type TestStore } from './helpers/backends.ts';
import { type Harness, harness, send, uid, waitFor } from './helpers/harness.ts';
import { type FakeFcm, fakeFcm } from './helpers/push/fcm.ts';

/**
 * The dispatcher wakes the push workers only for a push due now. A conversation's push
 * waits out the coalescing window, so waking the workers for it fetched nothing: under load
 * that was two job fetches per send batch (issue 9).
 */
let h: Harness;
let fcm: FakeFcm;
before(async () => {
  fcm = await fakeFcm();
  h = await harness(pgliteBackend, { PARLEY_PUSH_COALESCE_MS: '600000' }, { channels: { fcm: createFcmChannel({ serviceAccount: fcm.serviceAccount, endpoint: fcm.url }) } });
});
after(async () => {
  await h?.close();
  await fcm?.close();
});

test('a push due now wakes the push workers; one waiting out the coalescing window does not', async () => {
  const { dispatcher } = h.app.services;
  // Drains run only when this test says so.
  await dispatcher.stop(0);
  const woken: string[] = [];
  const { jobs } = h.store;
  const wake = jobs.wake.bind(jobs);
  // Only the push queue's wakes: the push worker wakes the FCM queue for each push it sends.
  jobs.wake = (name, n) => {
    if (name === QUEUES.push) woken.push(name);
    wake(name, n);
  };
  /** Push jobs in the queue, and how many of them wait for a later time. */
  const pushJobs = async () =>
    (
      await (h.store as TestStore).query<{ total: number; later: number }>(
        `SELECT count(*)::int AS total, (count(*) FILTER (WHERE start_after > now()))::int AS later FROM pgboss.job WHERE name = $1`,
        [QUEUES.push],
      )
    )[0];

  const ana = h.as(uid('ana'));
  const bob = h.as(uid('bob')); // never connects: offline
  // Push jobs are queued only for users with a device a configured channel serves.
  assert.equal((await bob.post('/v1/me/devices', { platform: 'fcm', token: `fcm-${uid()}` })).status, 201);
  const group = await h.group(ana, [bob.userId]);
  while (await dispatcher.drainOnce()) {}
  assert.deepEqual(woken, [QUEUES.push], 'the group invitation is pushed at once');
  assert.deepEqual(await pushJobs(), { total: 1, later: 0 });
  await waitFor(() => fcm.received.length === 1, 30_000, 'the invitation pushed to FCM');

  woken.length = 0;
  await send(ana, group, 'hey bob');
  while (await dispatcher.drainOnce()) {}
  assert.deepEqual(await pushJobs(), { total: 2, later: 1 }, "the message's push is queued, for later");
  assert.deepEqual(woken, [], 'and due only when the coalescing window ends: nothing to wake for');
});
