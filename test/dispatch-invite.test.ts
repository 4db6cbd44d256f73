import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { type Client, type Harness, harness, uid, waitFor } from './helpers/harness.ts';

/**
 * Being added to a group is told by a group_invite notification, and nothing else: no
 * conversation event reaches someone a new group was created with, and the client SDK
 * fetches a conversation it does not know when that invitation comes. Its outbox row used
 * to wait for the dispatcher's next sweep (every 5 s); the service that commits it now has
 * the dispatcher drain it at once. Here the sweep is ten minutes off, so only that can
 * bring the invitations within the test's deadlines.
 */
let h: Harness;
before(async () => {
  h = await harness(pgliteBackend, {}, { outboxSweepMs: 600_000 });
});
after(() => h?.close());

const inbox = async (c: Client) =>
  (await c.get('/v1/notifications')).body.notifications.map((n: { type: string; data: { conversationId: string } }) => [n.type, n.data.conversationId]);

test('a group invitation, at creation or later, is in the invitee\'s inbox without waiting for the outbox sweep', async () => {
  const ana = h.as(uid('ana'));
  const bob = h.as(uid('bob'));
  const carl = h.as(uid('carl'));
  const group = await h.group(ana, [bob.userId], 'Book club');
  await waitFor(async () => (await inbox(bob)).length > 0, 30_000, "bob's invitation at the group's creation");
  assert.deepEqual(await inbox(bob), [['group_invite', group]]);

  assert.equal((await ana.post(`/v1/conversations/${group}/members`, { userIds: [carl.userId] })).status, 200);
  await waitFor(async () => (await inbox(carl)).length > 0, 30_000, "carl's invitation when added later");
  assert.deepEqual(await inbox(carl), [['group_invite', group]]);
  assert.deepEqual(await inbox(ana), [], 'the one who adds is not told');
});
