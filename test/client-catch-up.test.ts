import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tokenFor, uid, waitFor } from './helpers/harness.ts';
import { type SdkRig, sdkRig } from './helpers/sdk-rig.ts';
import { bodies, synced } from './helpers/sdk.ts';

/**
 * Sync pages are paid for from the connection's frame budget. A client back from a long
 * absence can need more pages than the budget holds: the server answers `rate_limited` with
 * `retryAfter`, and the client must come back then and finish, not stop half synced.
 */
describe('client catching up past its frame budget', () => {
  let rig: SdkRig;
  before(async () => {
    // A burst of 4 frames, 2 a second after it; pages of at most 16 KiB (about 4 of the messages below).
    rig = await sdkRig({ PARLEY_FRAME_BURST: '4', PARLEY_FRAME_RATE: '2', PARLEY_SYNC_PAGE_BYTES: String(16 * 1024) });
  });
  after(() => rig?.close());

  test('a catch-up refused rate_limited part way waits retryAfter and finishes: every message, in order, synced', async () => {
    const owner = uid('owner');
    const reader = uid('reader');
    const c = rig.clients.make({ url: rig.proxy.url, token: await tokenFor(reader), transport: 'ws', backoff: { baseMs: 50, capMs: 500 } });
    await synced(c);
    const conv = await rig.group(owner, [reader]);
    await c.openConversation(conv);
    await rig.post(owner, conv, 'm1');
    await waitFor(() => bodies(c, conv).length === 1, 10_000, 'the live message');

    // Away while 30 messages of about 3 KB arrive: 8 or more pages, twice the burst.
    rig.proxy.block();
    await waitFor(() => c.connection.get().status !== 'connected', 10_000, 'disconnected');
    const expected = ['m1'];
    for (let n = 2; n <= 31; n++) {
      const body = `m${n} ${'x'.repeat(3000)}`;
      expected.push(body);
      await rig.post(owner, conv, body);
    }
    rig.proxy.unblock();

    await synced(c, 'synced after the catch-up', 60_000);
    assert.deepEqual(bodies(c, conv), expected);
    assert.equal(c.conversations.get().byId[conv]?.lastSeq, 31);
    // (The REST calls made while the network was blocked report network_error: not this.)
    const refused = c.errors.filter((e) => (e as { code?: string }).code === 'rate_limited');
    assert.deepEqual(refused, [], 'no rate_limited reported: the refused pages were asked for again');
  });
});
