import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { tokenFor, uid, waitFor } from './helpers/harness.ts';
import { type SdkRig, sdkRig } from './helpers/sdk-rig.ts';
import { bodies, synced } from './helpers/sdk.ts';
import { http } from './helpers/server-process.ts';

/** The SDK's session against a real Parley process: token refresh, seq gaps, terminal codes. */
describe('client session against a real server', () => {
  let rig: SdkRig;
  before(async () => {
    // Sessions end exactly at the token's exp.
    rig = await sdkRig({ PARLEY_JWT_CLOCK_TOLERANCE: '0' });
  });
  afterEach(() => rig.clients.closeAll());
  after(() => rig?.close());

  for (const transport of ['socketio', 'ws'] as const) {
    test(`${transport}: short-lived tokens are refreshed and the expired session resumes with no event lost`, async () => {
      const aId = uid('a');
      const bId = uid('b');
      let issued = 0;
      const b = rig.clients.make({
        url: rig.proxy.url,
        transport,
        tokenProvider: () => {
          issued++;
          return tokenFor(bId, {}, { expiresIn: '3s' });
        },
      });
      const connections = new Set<string>();
      b.connection.subscribe(() => {
        const id = b.connection.get().connectionId;
        if (id) connections.add(id);
      });
      await synced(b);
      const conv = await rig.group(aId, [bId]);
      await b.openConversation(conv);
      // Messages keep coming while the server ends two sessions whose tokens expired.
      const sent: string[] = [];
      while (connections.size < 3) {
        const body = `t${sent.length}`;
        await rig.post(aId, conv, body);
        sent.push(body);
        assert.ok(sent.length < 2000, 'the session never expired');
      }
      await waitFor(() => bodies(b, conv).length === sent.length, 15_000, 'every message');
      assert.deepEqual(bodies(b, conv), sent);
      assert.ok(issued >= 3, `tokens issued: ${issued}`);
      assert.equal(b.connection.get().closed, null);
    });
  }

  test('a seq gap (a change this connection did not see) triggers a sync that fills it', async () => {
    const aId = uid('a');
    const bId = uid('b');
    const b = rig.clients.make({ url: rig.proxy.url, token: await tokenFor(bId), transport: 'ws' });
    await synced(b);
    const conv = await rig.group(aId, [bId]);
    await b.openConversation(conv);
    await rig.post(aId, conv, 'one');
    await waitFor(() => bodies(b, conv).length === 1, 10_000, 'first');
    // Its own send is acked with its seq: no gap.
    const mine = b.send(conv, 'mine');
    const sent = await waitFor(() => b.outbox.get().find((e) => e.clientMsgId === mine.clientMsgId && e.status === 'sent'), 10_000, 'sent');
    const { gaps, syncs } = b.stats.get();
    // A change made elsewhere (REST, another device) reaches this connection live.
    const edited = await http(`${rig.server.url}/v1/messages/${sent.messageId}`, 'PATCH', await tokenFor(bId), { body: 'mine, edited' });
    assert.equal(edited.status, 200);
    await waitFor(() => bodies(b, conv).includes('mine, edited'), 10_000, 'edit from REST arrives live');
    // A change made on this connection is acked without its seq and not echoed: the next
    // event skips a seq.
    await b.request('reaction:add', { messageId: sent.messageId!, emoji: 'ok' });
    assert.equal(b.stats.get().gaps, gaps, 'no gap yet');
    await rig.post(aId, conv, 'three');
    await waitFor(() => b.stats.get().syncs > syncs, 10_000, 'a sync');
    await waitFor(() => bodies(b, conv).at(-1) === 'three', 10_000, 'the message after the gap');
    assert.equal(b.stats.get().gaps, gaps + 1);
    assert.equal(b.messages(conv).get().messages.find((m) => m.body === 'mine, edited')?.reactions[0]?.emoji, 'ok', 'the unseen change came by sync');
  });

  test('terminal close codes stop reconnecting, with the reason surfaced', async () => {
    const wrongSecret = await tokenFor(uid('x'), {}, { secret: 'another-secret-0123456789-abcdefgh' });
    const expired = await tokenFor(uid('y'), {}, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    for (const [transport, token, code] of [
      ['ws', wrongSecret, 'token_invalid'],
      ['socketio', wrongSecret, 'token_invalid'],
      ['ws', expired, 'token_expired'],
      ['socketio', expired, 'token_expired'],
    ] as const) {
      const c = rig.clients.make({ url: rig.proxy.url, token, transport, backoff: { baseMs: 10, capMs: 20 } });
      const closed = await waitFor(() => c.connection.get().closed, 10_000, `${transport} closed`);
      // Refused at connect: 4501 with the reason (4503 is for a token expiring during a session).
      assert.deepEqual(closed, { code, closeCode: 4501 }, transport);
      assert.equal(c.connection.get().status, 'closed');
      // A client that kept trying would have made dozens of attempts by now (10-20 ms apart).
      const attempts = rig.proxy.accepted();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rig.proxy.accepted(), attempts, `${transport} tried again after a terminal code`);
    }
  });
});
