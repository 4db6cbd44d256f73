import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tokenFor, uid, waitFor } from './helpers/harness.ts';
import { type SdkRig, sdkRig } from './helpers/sdk-rig.ts';
import { bodies, synced } from './helpers/sdk.ts';

/** A client further behind than PARLEY_SYNC_LIMIT is answered `reset` for that conversation. */
describe('client after a sync reset', () => {
  let rig: SdkRig;
  before(async () => {
    rig = await sdkRig({ PARLEY_SYNC_LIMIT: '10' });
  });
  after(() => rig?.close());

  test('an open conversation too far behind is reloaded from its newest page: no hole, the summary current', async () => {
    const owner = uid('owner');
    const reader = uid('reader');
    const c = rig.clients.make({ url: rig.proxy.url, token: await tokenFor(reader), transport: 'ws', backoff: { baseMs: 50, capMs: 500 } });
    await synced(c);
    const conv = await rig.group(owner, [reader]);
    await c.openConversation(conv);
    for (const n of [1, 2, 3]) await rig.post(owner, conv, `m${n}`);
    await waitFor(() => bodies(c, conv).length === 3, 10_000, 'live messages');

    // Away while 15 more arrive: past the sync limit of 10.
    rig.proxy.block();
    await waitFor(() => c.connection.get().status !== 'connected', 10_000, 'disconnected');
    for (let n = 4; n <= 18; n++) await rig.post(owner, conv, `m${n}`);
    rig.proxy.unblock();
    await synced(c, 'synced after the reset');

    const expected = Array.from({ length: 18 }, (_, i) => `m${i + 1}`);
    await waitFor(() => bodies(c, conv).length === 18, 10_000, 'the newest page, reloaded');
    assert.deepEqual(bodies(c, conv), expected);
    assert.equal(c.stats.get().resets, 1);
    assert.equal(c.conversations.get().byId[conv]?.lastMessage?.body, 'm18');
    assert.equal(c.conversations.get().byId[conv]?.lastSeq, 18);
  });
});
