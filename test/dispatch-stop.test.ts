import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, send, uid } from './helpers/harness.ts';

/**
 * At shutdown the notification dispatcher drains for a bounded grace and then starts no
 * transaction: in a cluster the message log is shared and other instances keep sending, so
 * "until nothing is left" never ended and a rolling restart under load missed its shutdown
 * bound. What it leaves is durable: the next drain (another instance's sweep, or the next
 * start) takes it.
 */
let h: Harness;
before(async () => {
  h = await harness(pgliteBackend);
});
after(() => h?.close());

test('a stopped dispatcher starts no drain; the work it left is taken by the next one', async () => {
  const [ana, bob] = [h.as(uid('ana')), h.as(uid('bob'))];
  const bobId = (await bob.get('/v1/me')).body.user.id;
  const group = await h.group(ana, [bobId]);
  const { dispatcher } = h.app.services;

  await dispatcher.stop(0);
  await send(ana, group, 'hey bob', { mentions: [bobId] });
  // The send pokes it, and so does this: neither may start a transaction now.
  await dispatcher.flush();
  assert.deepEqual((await bob.get('/v1/notifications')).body.notifications, [], 'nothing drained after stop');

  // The work is still in the log, for whoever drains next.
  while (await dispatcher.drainOnce()) {}
  const inbox = (await bob.get('/v1/notifications')).body.notifications as { type: string }[];
  assert.deepEqual(inbox.map((n) => n.type).sort(), ['group_invite', 'mention'], 'the invitation and the mention, both left by the stopped one');
});
