import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { type Client, send, uid, waitFor } from './helpers/harness.ts';
import { fcmError } from './helpers/push/fcm.ts';
import { listen, wsClient } from './helpers/realtime.ts';
import { rig, type Rig, idle, endCoalescing, webDevice, tokenDevice, pushesTo, hasDevice, hex, pair } from './helpers/delivery-rig.ts';

if (skippedPostgres) test('delivery on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`push delivery on ${backend.name}`, () => {
    let r: Rig;
    before(async () => {
      r = await rig(backend);
    });
    after(() => r.close());

    test('an offline member gets one push for a burst of messages, on every device, with the unread badge', async () => {
      const { ana, bob, conversation } = await pair(r.h);
      const web = await webDevice(bob, r.web);
      const expoToken = `ExponentPushToken[${uid('x')}]`;
      await tokenDevice(bob, 'expo', expoToken);
      await send(ana, conversation, 'one');
      await send(ana, conversation, 'two');
      await send(ana, conversation, 'three');
      await idle(r);
      const pushes = pushesTo(r.web, web.id);
      assert.equal(pushes.length, 1, 'three messages within the window make one push');
      assert.equal(pushes[0]!.problem, undefined);
      assert.deepEqual({ title: pushes[0]!.payload.title, body: pushes[0]!.payload.body }, { title: 'Ana', body: '3 new messages from Ana' });
      assert.equal(pushes[0]!.payload.data.conversationId, conversation);
      const expo = r.expo.received.flatMap((x) => x.messages).filter((m) => m.to === expoToken);
      assert.equal(expo.length, 1);
      assert.equal(expo[0].body, '3 new messages from Ana');
      assert.equal(expo[0].badge, 3);

      // A later message is pushed on its own: what was pushed is never pushed again.
      await send(ana, conversation, 'four');
      await idle(r);
      assert.equal(pushesTo(r.web, web.id).length, 2);
      assert.equal(pushesTo(r.web, web.id)[1]!.payload.body, 'four');
    });

    test('no push to a member who is online, who read the message before the push was due, or for a deleted message', async () => {
      const { ana, bob, conversation } = await pair(r.h);
      const web = await webDevice(bob, r.web);
      const url = await listen(r.h);
      const live = await wsClient(url, bob.userId);
      try {
        await send(ana, conversation, 'while you are here');
        await live.next('message:new');
        await idle(r);
      } finally {
        await live.close();
      }
      await waitFor(async () => (await r.h.app.services.presence.query({ userId: bob.userId }, [bob.userId]))[0]?.status === 'offline', 30_000, 'bob offline');

      const read = await send(ana, conversation, 'read it quickly');
      assert.equal((await bob.post(`/v1/conversations/${conversation}/read`, { seq: read.seq })).status, 200);
      await idle(r);

      const gone = await send(ana, conversation, 'oops');
      assert.equal((await ana.delete(`/v1/messages/${gone.id}`)).status, 200);
      await idle(r);
      assert.equal(pushesTo(r.web, web.id).length, 0);

      // The pipeline was live all along: the next message does go out, alone.
      await send(ana, conversation, 'now you are away');
      await idle(r);
      assert.deepEqual(
        pushesTo(r.web, web.id).map((p) => p.payload.body),
        ['now you are away'],
      );
    });

    test('muted conversations are silent except for mentions, which are their own type, in the push and in the inbox', async () => {
      const { ana, bob } = await pair(r.h);
      const cy = uid('cy');
      const group = await r.h.group(ana, [bob.userId, cy], 'Team');
      // Bob's invitation is settled before he mutes (and before his device exists): only
      // what happens in the muted conversation is under test.
      await idle(r);
      const web = await webDevice(bob, r.web);
      assert.equal((await bob.post(`/v1/conversations/${group}/mute`, {})).status, 200);
      await send(ana, group, 'plain chatter');
      await idle(r);
      assert.equal(pushesTo(r.web, web.id).length, 0);

      await send(ana, group, 'hey bob, look', { mentions: [bob.userId] });
      await idle(r);
      const [push] = pushesTo(r.web, web.id);
      assert.deepEqual({ title: push?.payload.title, body: push?.payload.body, type: push?.payload.data.type }, { title: 'Ana mentioned you in Team', body: 'hey bob, look', type: 'mention' });
      const inbox = (await bob.get('/v1/notifications')).body.notifications;
      assert.deepEqual(
        inbox.map((n: { type: string; title: string; body: string }) => [n.type, n.title, n.body]),
        [
          ['mention', 'Ana mentioned you', 'hey bob, look'],
          ['group_invite', 'Ana added you to Team', 'Team'],
        ],
      );

      // Mentions in muted conversations can be switched off too.
      assert.equal((await bob.put('/v1/me/notification-preferences', { mentionsInMuted: false })).status, 200);
      await send(ana, group, 'bob again', { mentions: [bob.userId] });
      await idle(r);
      assert.equal(pushesTo(r.web, web.id).length, 1);
    });

    test('a reaction to your message lands in your inbox and is pushed; reacting to your own is not', async () => {
      const { ana, bob, conversation } = await pair(r.h);
      const mine = await send(bob, conversation, 'lunch?');
      await bob.post(`/v1/conversations/${conversation}/read`, { seq: mine.seq });
      const web = await webDevice(bob, r.web);
      assert.equal((await ana.post(`/v1/messages/${mine.id}/reactions`, { emoji: '👍' })).status, 200);
      assert.equal((await bob.post(`/v1/messages/${mine.id}/reactions`, { emoji: '🎉' })).status, 200);
      await idle(r);
      const inbox = (await bob.get('/v1/notifications')).body.notifications;
      assert.deepEqual(
        inbox.map((n: { type: string; title: string; body: string }) => [n.type, n.title, n.body]),
        [['reaction', 'Ana reacted 👍', 'lunch?']],
      );
      const pushes = pushesTo(r.web, web.id);
      assert.equal(pushes.length, 1);
      assert.equal(pushes[0]!.payload.title, 'Ana reacted 👍');
      assert.equal(pushes[0]!.payload.data.notificationId, inbox[0].id);
    });

    test('being added to a group (at creation or later) is a group_invite in the inbox and a push', async () => {
      const { ana, bob } = await pair(r.h);
      const carl = r.h.as(uid('carl'));
      const web = await webDevice(bob, r.web);
      const group = await r.h.group(ana, [bob.userId], 'Book club');
      assert.equal((await ana.post(`/v1/conversations/${group}/members`, { userIds: [carl.userId] })).status, 200);
      await idle(r);
      for (const c of [bob, carl]) {
        const inbox = (await c.get('/v1/notifications')).body.notifications;
        assert.deepEqual(
          inbox.map((n: { type: string; title: string; data: { conversationId: string } }) => [n.type, n.title, n.data.conversationId]),
          [['group_invite', 'Ana added you to Book club', group]],
          c.userId,
        );
      }
      assert.deepEqual(
        pushesTo(r.web, web.id).map((p) => [p.payload.title, p.payload.data.type]),
        [['Ana added you to Book club', 'group_invite']],
      );
      assert.equal((await ana.get('/v1/notifications')).body.notifications.length, 0, 'the one who adds is not told');
    });

    test('an admin notification is pushed to offline users unless read first; push off in preferences means none', async () => {
      const bob = r.h.as(uid('bob'));
      const web = await webDevice(bob, r.web);
      const carl = r.h.as(uid('carl'));
      const carlWeb = await webDevice(carl, r.web);
      await carl.put('/v1/me/notification-preferences', { types: { system: { push: false } } });
      const res = await r.h.admin().post('/v1/notifications', { userIds: [bob.userId, carl.userId], type: 'system', title: 'Maintenance', body: 'Tonight at 2', priority: 'high' });
      assert.equal(res.status, 201);
      await idle(r);
      assert.deepEqual(
        pushesTo(r.web, web.id).map((p) => [p.payload.title, p.payload.body, p.payload.data.type]),
        [['Maintenance', 'Tonight at 2', 'system']],
      );
      assert.equal(pushesTo(r.web, carlWeb.id).length, 0);
    });
  });

  describe(`invariant 6 on ${backend.name}: every delivery settles`, () => {
    let r: Rig;
    before(async () => {
      r = await rig(backend);
    });
    after(() => r.close());

    /** A user with one device, and a message that will be pushed to it. */
    async function pushOnce(register: (bob: Client) => Promise<string>) {
      const { ana, bob, conversation } = await pair(r.h);
      const deviceId = await register(bob);
      await send(ana, conversation, 'ping');
      await endCoalescing(r);
      return { bob, deviceId };
    }

    test('dead tokens are pruned and never retried: Web Push 404/410, APNs 410 Unregistered and 400 BadDeviceToken, FCM UNREGISTERED', async () => {
      const cases: [string, (bob: Client) => Promise<string>, () => void][] = [
        ['webpush 410', async (bob) => (await webDevice(bob, r.web)).deviceId, () => r.web.script.next({ status: 410 })],
        ['webpush 404', async (bob) => (await webDevice(bob, r.web)).deviceId, () => r.web.script.next({ status: 404 })],
        ['apns 410', (bob) => tokenDevice(bob, 'apns', hex(64)), () => r.apns.script.next({ status: 410, body: { reason: 'Unregistered', timestamp: Date.now() } })],
        ['apns 400', (bob) => tokenDevice(bob, 'apns', hex(64)), () => r.apns.script.next({ status: 400, body: { reason: 'BadDeviceToken' } })],
        ['fcm 404', (bob) => tokenDevice(bob, 'fcm', `fcm-${hex(40)}`), () => r.fcm.script.next({ status: 404, body: fcmError(404, 'NOT_FOUND', 'UNREGISTERED') })],
      ];
      for (const [name, register, answer] of cases) {
        const before = await idle(r);
        answer();
        const { bob, deviceId } = await pushOnce(register);
        const after = await idle(r);
        assert.equal(await hasDevice(bob, deviceId), false, `${name}: device pruned`);
        const channel = name.split(' ')[0] as 'webpush' | 'apns' | 'fcm';
        assert.equal(after[channel].attempts - before[channel].attempts, 1, `${name}: one attempt, no retry`);
        assert.equal(after[channel].deadLetters, before[channel].deadLetters, `${name}: not a dead letter`);
      }
    });

    test('an Expo receipt that says DeviceNotRegistered prunes the device after the push was accepted', async () => {
      r.expo.setReceipts({ error: 'DeviceNotRegistered' });
      try {
        const token = `ExponentPushToken[${uid('x')}]`;
        const { bob, deviceId } = await pushOnce((b) => tokenDevice(b, 'expo', token));
        await waitFor(async () => !(await hasDevice(bob, deviceId)), 15_000, 'the device pruned by its receipt');
        assert.equal(r.expo.received.flatMap((x) => x.messages).filter((m) => m.to === token).length, 1, 'sent once, never retried');
      } finally {
        r.expo.setReceipts('ok');
      }
      await idle(r);
    });

    test('5xx retries with exponential backoff, then dead-letters; an admin lists and retries it and it is delivered', async () => {
      const before = await idle(r);
      r.expo.script.next({ status: 503, body: { errors: [{ code: 'UNAVAILABLE' }] } }, 3);
      const token = `ExponentPushToken[${uid('x')}]`;
      const arrivals: number[] = [];
      const count = () => r.expo.received.flatMap((x) => x.messages).filter((m) => m.to === token).length;
      await pushOnce((bob) => tokenDevice(bob, 'expo', token));
      for (let n = 1; n <= 3; n++) {
        await waitFor(() => count() >= n, 15_000, `attempt ${n}`);
        arrivals.push(Date.now());
      }
      const settled = await idle(r);
      assert.ok(arrivals[1]! - arrivals[0]! >= 900, `first retry after ${arrivals[1]! - arrivals[0]!} ms`);
      assert.ok(arrivals[2]! - arrivals[1]! >= 1900, `second retry after ${arrivals[2]! - arrivals[1]!} ms: the delay doubles`);
      assert.equal(settled.expo.failed - before.expo.failed, 1);
      assert.equal(settled.expo.attempts - before.expo.attempts, 3);
      assert.equal(settled.expo.deadLetters - before.expo.deadLetters, 1);

      const listed = await r.h.admin().get('/v1/admin/dead-letters');
      assert.equal(listed.status, 200);
      const dead = listed.body.deadLetters.find((d: { data: { message?: { body?: string } }; channel: string }) => d.channel === 'expo');
      assert.ok(dead, JSON.stringify(listed.body));
      assert.match(dead.reason, /503/);
      assert.equal((await r.h.as(uid('x')).get('/v1/admin/dead-letters')).status, 403);

      assert.equal((await r.h.admin().post(`/v1/admin/dead-letters/${dead.id}/retry`, {})).status, 200);
      await waitFor(() => count() === 4, 30_000, 'the retried delivery');
      const after = await idle(r);
      assert.equal(after.expo.deadLetters, settled.expo.deadLetters - 1);
      assert.equal((await r.h.admin().post(`/v1/admin/dead-letters/${dead.id}/retry`, {})).status, 404);
    });

    test('429 honours Retry-After; 400 and 413 fail at once into the dead-letter queue', async () => {
      r.web.script.next({ status: 429, headers: { 'retry-after': '3' } });
      const { bob } = await pushOnce(async (b) => (await webDevice(b, r.web)).deviceId);
      const id = (await bob.get('/v1/me/devices')).body.devices[0].token.split('/').pop();
      await waitFor(() => pushesTo(r.web, id).length >= 1, 30_000, 'first attempt');
      const first = Date.now();
      await waitFor(() => pushesTo(r.web, id).length >= 2, 15_000, 'the retry');
      assert.ok(Date.now() - first >= 2900, `retried after ${Date.now() - first} ms, Retry-After said 3 s`);

      for (const [channel, answer, register] of [
        ['apns', () => r.apns.script.next({ status: 400, body: { reason: 'PayloadEmpty' } }), (b: Client) => tokenDevice(b, 'apns', hex(64))],
        ['fcm', () => r.fcm.script.next({ status: 400, body: fcmError(400, 'INVALID_ARGUMENT') }), (b: Client) => tokenDevice(b, 'fcm', `fcm-${hex(40)}`)],
        ['webpush', () => r.web.script.next({ status: 413 }), async (b: Client) => (await webDevice(b, r.web)).deviceId],
      ] as const) {
        const before = await idle(r);
        answer();
        const { bob: owner, deviceId } = await pushOnce(register);
        const after = await idle(r);
        assert.equal(after[channel].attempts - before[channel].attempts, 1, `${channel}: no retry`);
        assert.equal(after[channel].deadLetters - before[channel].deadLetters, 1, `${channel}: dead-lettered`);
        assert.equal(await hasDevice(owner, deviceId), true, `${channel}: the device stays`);
      }
    });
  });

  describe(`quiet hours on ${backend.name}`, () => {
    let r: Rig;
    // The app's clock stands 4 s before 07:00 UTC; quiet hours run 22:00-07:00 every day.
    const windowEnd = Date.UTC(2026, 10, 23, 7, 0, 0);
    let offset = 0;
    before(async () => {
      offset = windowEnd - 4000 - Date.now();
      r = await rig(backend, () => new Date(Date.now() + offset));
    });
    after(() => r.close());

    test('a push held by quiet hours goes out when they end, with everything that came meanwhile', async () => {
      const { ana, bob, conversation } = await pair(r.h);
      const web = await webDevice(bob, r.web);
      const prefs = { quietHours: { enabled: true, timeZone: 'UTC', windows: [{ days: [0, 1, 2, 3, 4, 5, 6], start: '22:00', end: '07:00' }] } };
      assert.equal((await bob.put('/v1/me/notification-preferences', prefs)).status, 200);
      await send(ana, conversation, 'are you up?');
      await endCoalescing(r);
      await waitFor(() => pushesTo(r.web, web.id).length === 1, 15_000, 'the held push');
      const at = Date.now() + offset;
      assert.ok(at >= windowEnd, `pushed ${windowEnd - at} ms before quiet hours ended`);
      assert.equal(pushesTo(r.web, web.id)[0]!.payload.body, 'are you up?');
    });
  });

}
