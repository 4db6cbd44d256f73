import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DeliveryResult, PushDevice, PushMessage } from '../src/delivery/channel.ts';
import { createExpoChannel } from '../src/delivery/channels/expo.ts';
import { backends } from './helpers/backends.ts';
import { idle, type Rig, rig, tokenDevice } from './helpers/delivery-rig.ts';
import { send, uid, waitFor } from './helpers/harness.ts';
import { EXPO_LIMITS, type FakeExpo, fakeExpo } from './helpers/push/expo.ts';

/**
 * Expo takes up to 100 messages a request and answers a ticket for each, in order; receipts
 * up to 1,000 ids a request. The channel sends together what is asked of it in one turn of
 * the event loop (a fetch of device jobs, run side by side), and each send still gets the
 * answer of its own ticket.
 */
const message: PushMessage = { title: 'Team', body: 'hello', data: { conversationId: 'c1', seq: 1 }, priority: 'high' };
const device = (n: number | string): PushDevice => ({ id: `d${n}`, platform: 'expo', token: `ExponentPushToken[batch-${n}]` });

describe('Expo channel: sends and receipt checks made together', () => {
  let expo: FakeExpo;
  let channel: ReturnType<typeof createExpoChannel>;
  before(async () => {
    expo = await fakeExpo();
    channel = createExpoChannel({ endpoint: expo.url });
  });
  after(async () => {
    await channel.close();
    await expo.close();
  });

  /** The requests `fn` made, and what it answered. */
  const requestsOf = async <T>(fn: () => Promise<T>) => {
    const from = expo.received.length;
    const out = await fn();
    return { out, requests: expo.received.slice(from).map((r) => r.messages.map((m: { to: string }) => m.to)) };
  };

  test('150 sends in one turn are two requests (100 and 50), each answered by its own ticket', async () => {
    const devices = Array.from({ length: 150 }, (_, i) => device(`a${i}`));
    expo.setTicket(devices[7]!.token!, 'DeviceNotRegistered');
    expo.setTicket(devices[120]!.token!, 'DeviceNotRegistered');
    expo.setTicket(devices[55]!.token!, 'MessageRateExceeded');
    expo.setTicket(devices[99]!.token!, 'MessageTooBig');
    const { out, requests } = await requestsOf(() => Promise.all(devices.map((d) => channel.send(d, message))));
    assert.deepEqual(requests.map((r) => r.length), [EXPO_LIMITS.messages, 50]);
    assert.deepEqual(requests.flat(), devices.map((d) => d.token), 'every message once, in the order sent');
    const statusOf = (i: number) => out[i]!.status;
    assert.equal(statusOf(7), 'invalid_token');
    assert.equal(statusOf(120), 'invalid_token');
    assert.equal(statusOf(55), 'retry');
    assert.equal(statusOf(99), 'failed');
    const delivered = out.filter((r) => r.status === 'delivered') as Extract<DeliveryResult, { status: 'delivered' }>[];
    assert.equal(delivered.length, 146);
    assert.equal(new Set(delivered.map((r) => r.receipt)).size, 146, 'each its own ticket id');
  });

  test('sends in different turns are separate requests', async () => {
    const { requests } = await requestsOf(async () => {
      await channel.send(device('t1'), message);
      await channel.send(device('t2'), message);
    });
    assert.deepEqual(requests, [[device('t1').token], [device('t2').token]]);
  });

  test('a request mixing projects is refused whole and sent again a request per project', async () => {
    const devices = Array.from({ length: 6 }, (_, i) => device(`p${i}`));
    for (const i of [1, 3]) expo.setProject(devices[i]!.token!, '@acme/other');
    expo.setProject(devices[5]!.token!, '@acme/third');
    const { out, requests } = await requestsOf(() => Promise.all(devices.map((d) => channel.send(d, message))));
    assert.deepEqual(out.map((r) => r.status), Array(6).fill('delivered'));
    assert.equal(requests.length, 4, 'the refused request, then one per project');
    assert.deepEqual(requests.slice(1).map((r) => [...r].sort()).sort(), [
      [devices[0]!.token, devices[2]!.token, devices[4]!.token],
      [devices[1]!.token, devices[3]!.token],
      [devices[5]!.token],
    ].map((r) => r.sort()).sort());
  });

  test('a message that makes Expo refuse its request fails alone; the others are sent a message a request', async () => {
    const devices = Array.from({ length: 4 }, (_, i) => device(`v${i}`));
    expo.setInvalid(devices[2]!.token!);
    const { out, requests } = await requestsOf(() => Promise.all(devices.map((d) => channel.send(d, message))));
    assert.deepEqual(out.map((r) => r.status), ['delivered', 'delivered', 'failed', 'delivered']);
    assert.match((out[2] as { reason: string }).reason, /^http 400: .*VALIDATION_ERROR/);
    assert.deepEqual(requests[0], devices.map((d) => d.token));
    assert.deepEqual(requests.slice(1).flat().sort(), devices.map((d) => d.token).sort(), 'then each alone');
  });

  test('an answer without a ticket for each message is not guessed at: each is sent alone', async () => {
    const devices = Array.from({ length: 3 }, (_, i) => device(`m${i}`));
    expo.script.next({ status: 200, body: { data: [{ status: 'ok', id: 'only-one' }] } });
    const { out, requests } = await requestsOf(() => Promise.all(devices.map((d) => channel.send(d, message))));
    assert.deepEqual(out.map((r) => r.status), ['delivered', 'delivered', 'delivered']);
    assert.ok(out.every((r) => (r as { receipt?: string }).receipt !== 'only-one'), 'no message took the lone ticket');
    assert.equal(requests.length, 4);
  });

  test('rate limited or down: every message of the request is retried, after Retry-After', async () => {
    expo.script.next({ status: 429, body: { errors: [{ code: 'TOO_MANY_REQUESTS' }] }, headers: { 'retry-after': '7' } });
    const out = await Promise.all([device('r1'), device('r2')].map((d) => channel.send(d, message)));
    assert.deepEqual(out, [
      { status: 'retry', reason: 'http 429', retryAfterMs: 7000 },
      { status: 'retry', reason: 'http 429', retryAfterMs: 7000 },
    ]);
  });

  test('1,200 receipt checks in one turn are two requests (1,000 and 200), each answered by its own receipt', async () => {
    const ids: string[] = [];
    const outcomes: ('ok' | 'pending' | { error: string })[] = [];
    for (let i = 0; i < 1200; i += 100) {
      const outcome = i === 300 ? { error: 'DeviceNotRegistered' } : i === 700 ? 'pending' : 'ok';
      expo.setReceipts(outcome);
      const sent = await Promise.all(Array.from({ length: 100 }, (_, k) => channel.send(device(`c${i + k}`), message)));
      for (const s of sent) {
        ids.push((s as { receipt: string }).receipt);
        outcomes.push(outcome);
      }
    }
    expo.setReceipts('ok');
    const from = expo.receiptBatches.length;
    const checked = await Promise.all(ids.map((id) => channel.checkReceipt!(id)));
    assert.deepEqual(expo.receiptBatches.slice(from).map((b) => b.length), [EXPO_LIMITS.receiptIds, 200]);
    const expected = outcomes.map((o) => (o === 'ok' ? 'delivered' : o === 'pending' ? null : 'invalid_token'));
    assert.deepEqual(checked.map((c) => c?.status ?? null), expected);
  });
});

/**
 * Through the whole pipeline: one message to a group's offline members, each with an Expo
 * device. The device jobs run ten a fetch, side by side, so their pushes go in a request per
 * fetch rather than one each; a dead token among them is pruned, and the receipts are asked
 * for together too.
 */
for (const backend of backends) {
  describe(`Expo pushes of a group message on ${backend.name}`, () => {
    let r: Rig;
    before(async () => {
      r = await rig(backend);
    });
    after(() => r.close());

    test('twelve offline members: twelve pushes in fewer requests, a dead token pruned, the receipts checked together', async () => {
      const ana = r.h.as(uid('ana'), { name: 'Ana' });
      await ana.get('/v1/me');
      const members = Array.from({ length: 12 }, (_, i) => r.h.as(uid(`m${i}`)));
      const group = await r.h.group(ana, members.map((m) => m.userId), 'Team');
      await idle(r); // the invitations' pushes, before any device exists
      const tokens = members.map((m) => `ExponentPushToken[${m.userId}]`);
      const deviceIds: string[] = [];
      for (const [i, m] of members.entries()) deviceIds.push(await tokenDevice(m, 'expo', tokens[i]!));
      r.expo.setTicket(tokens[4]!, 'DeviceNotRegistered');
      const fromRequest = r.expo.received.length;
      const fromReceipts = r.expo.receiptBatches.length;

      await send(ana, group, 'to everyone offline');
      await idle(r);
      const requests = r.expo.received.slice(fromRequest).map((x) => x.messages as { to: string; body: string }[]);
      const pushed = requests.flat();
      assert.deepEqual(pushed.map((m) => m.to).sort(), [...tokens].sort(), 'each member once');
      assert.ok(pushed.every((m) => m.body.endsWith('to everyone offline')), JSON.stringify(pushed[0]));
      assert.ok(requests.length < tokens.length, `12 pushes in ${requests.length} requests (${requests.map((q) => q.length).join(', ')})`);
      console.log(`12 Expo pushes on ${backend.name} in ${requests.length} requests: ${requests.map((q) => q.length).join(', ')}`);

      const listed = await members[4]!.get('/v1/me/devices');
      assert.equal(listed.body.devices.some((d: { id: string }) => d.id === deviceIds[4]), false, 'the dead token pruned');

      // Each accepted push's receipt is checked (the rig asks 1 s after), fewer requests than receipts.
      await waitFor(() => r.expo.receiptBatches.slice(fromReceipts).flat().length >= 11, 30_000, 'the receipts checked');
      await idle(r);
      const receiptBatches = r.expo.receiptBatches.slice(fromReceipts);
      assert.equal(receiptBatches.flat().length, 11, 'a receipt for each accepted push, checked once');
      assert.ok(receiptBatches.length < 11, `11 receipts in ${receiptBatches.length} requests`);
    });
  });
}
