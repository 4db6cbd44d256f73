import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tokenFor, uid, waitFor } from './helpers/harness.ts';
import { type SdkRig, sdkRig } from './helpers/sdk-rig.ts';
import { bodies, synced } from './helpers/sdk.ts';

/** The SDK across a kill -9 and restart of a real Parley process (one restart per file: each costs seconds). */
describe('client across a server restart', () => {
  let rig: SdkRig;
  before(async () => {
    rig = await sdkRig();
  });
  after(() => rig?.close());

  test('both transports reconnect after the restart and sync: nothing missed, nothing doubled', async () => {
    const aId = uid('a');
    const receivers = await Promise.all(
      (['socketio', 'ws'] as const).map(async (transport) => {
        const id = uid(transport);
        const c = rig.clients.make({ url: rig.proxy.url, token: await tokenFor(id), transport, backoff: { baseMs: 50, capMs: 500 } });
        await synced(c);
        return { id, c };
      }),
    );
    const conv = await rig.group(
      aId,
      receivers.map((r) => r.id),
    );
    for (const { c } of receivers) await c.openConversation(conv);
    for (const n of [1, 2, 3]) await rig.post(aId, conv, `m${n}`);
    for (const { c } of receivers) await waitFor(() => bodies(c, conv).length === 3, 10_000, 'live messages');
    const syncsBefore = receivers.map(({ c }) => c.stats.get().syncs);

    // Killed (no goodbye), and the network cut so the clients cannot come back too early.
    rig.proxy.block();
    await rig.server.kill();
    for (const { c } of receivers) await waitFor(() => c.connection.get().status === 'reconnecting', 10_000, 'reconnecting');
    await rig.restart();
    for (const n of [4, 5, 6, 7, 8]) await rig.post(aId, conv, `m${n}`);
    rig.proxy.unblock();
    for (const { c } of receivers) await synced(c, 'synced after the restart');
    await rig.post(aId, conv, 'm9');

    for (const [i, { c }] of receivers.entries()) {
      const name = i ? 'ws' : 'socketio';
      await waitFor(() => bodies(c, conv).length === 9, 10_000, `${name}: all nine`);
      assert.deepEqual(bodies(c, conv), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'], name);
      assert.deepEqual(
        c.messages(conv).get().messages.map((m) => m.seq),
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
        name,
      );
      assert.ok(c.stats.get().syncs > syncsBefore[i]!, `${name}: the missed messages came by sync`);
      assert.equal(c.stats.get().gaps, 0, name);
      assert.equal(c.conversations.get().byId[conv]?.unreadCount, 9, name);
      assert.equal(c.conversations.get().byId[conv]?.lastMessage?.body, 'm9', name);
    }
  });
});
