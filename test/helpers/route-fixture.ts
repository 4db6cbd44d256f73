import assert from 'node:assert/strict';
import type { Fixture } from './bad-input-routes.ts';
import { type Client, type Harness, send, uid, waitFor } from './harness.ts';
import { QUEUES } from '../../src/storage/job-queue.ts';

/** A group of owner and member, a message with the owner's reaction, a user made by the admin API. */
export async function makeFixture(h: Harness): Promise<{ owner: Client; fixture: Fixture }> {
  const owner = h.as(uid('ana'));
  const member = h.as(uid('bob'));
  assert.equal((await member.get('/v1/me/unread')).status, 200); // bob's profile exists before the corpus
  const conversationId = await h.group(owner, [member.userId]);
  const message = await send(owner, conversationId, 'first');
  const emoji = '👍';
  assert.equal((await owner.post(`/v1/messages/${message.id}/reactions`, { emoji })).status, 200);
  const target = uid('carol');
  assert.equal((await h.admin().put(`/v1/users/${target}`, { name: 'Carol' })).status, 200);
  // The admin key acting for the owner: the profile sync it triggers is done here, not mid-corpus.
  assert.equal((await h.admin(owner.userId).get('/v1/me')).status, 200);
  const sent = await h.admin().post('/v1/notifications', { userIds: [owner.userId], type: 'system', title: 'Hello', body: 'Welcome' });
  assert.equal(sent.status, 201);
  const device = await owner.post('/v1/me/devices', { platform: 'fcm', token: `fcm-token-${uid()}` });
  assert.equal(device.status, 201);
  // A dead letter for the admin routes: an email job (no email channel here) that fails for good.
  const stop = await h.store.jobs.work(QUEUES.email, async () => ({ outcome: 'dead', reason: 'fixture' }));
  await h.store.jobs.enqueue([{ queue: QUEUES.email, data: { fixture: true } }]);
  h.store.jobs.wake(QUEUES.email);
  const dead = (await waitFor(() => h.store.jobs.deadLetters({ limit: 1, before: null }).then((d) => d[0]), 30_000, "the dead letter"))!;
  await stop();
  return {
    owner,
    fixture: {
      owner: owner.userId,
      member: member.userId,
      conversationId,
      messageId: message.id,
      emoji,
      target,
      notificationId: sent.body.notifications[0].id,
      deviceId: device.body.device.id,
      deadLetterId: dead.id,
    },
  };
}

