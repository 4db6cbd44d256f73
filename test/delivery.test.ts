import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApnsChannel } from '../src/delivery/channels/apns.ts';
import { createEmailChannel } from '../src/delivery/channels/email.ts';
import { createExpoChannel } from '../src/delivery/channels/expo.ts';
import { createFcmChannel } from '../src/delivery/channels/fcm.ts';
import { createWebPushChannel } from '../src/delivery/channels/webpush.ts';
import type { Store } from '../src/storage/store.ts';
import { type Backend, backends, skippedPostgres } from './helpers/backends.ts';
import { type Client, type Harness, harness, send, uid, VAPID, waitFor } from './helpers/harness.ts';
import { fakeApns, type FakeApns } from './helpers/push/apns.ts';
import { type FakeExpo, fakeExpo } from './helpers/push/expo.ts';
import { type FakeFcm, fakeFcm, fcmError } from './helpers/push/fcm.ts';
import { type BrowserSubscription, type FakePushService, fakePushService } from './helpers/push/webpush.ts';
import { listen, wsClient } from './helpers/realtime.ts';
import { type LocalSmtp, startLocalSmtp } from './helpers/smtp.ts';

/** Fast retries so backoff and dead letters happen within a test. */
const JOBS = { retryLimit: 2, retryDelaySeconds: 1, expireSeconds: 30, maintenanceSeconds: 5, pollSeconds: 1 };
const ENV = { PARLEY_PUSH_COALESCE_MS: '700', PARLEY_PUSH_ALLOW_INSECURE: '1', PARLEY_DIGEST_INTERVAL_MINUTES: '0', PARLEY_EXPO_RECEIPT_DELAY_SECONDS: '1' };
const CHANNELS = ['push', 'apns', 'fcm', 'webpush', 'expo', 'email'] as const;

interface Rig {
  h: Harness;
  store: Store;
  web: FakePushService;
  apns: FakeApns;
  fcm: FakeFcm;
  expo: FakeExpo;
  smtp: LocalSmtp;
  close(): Promise<void>;
}

/** An app on its own store whose channels all point at local servers speaking the providers' protocols. */
async function rig(backend: Backend, now?: () => Date, env: Record<string, string> = {}): Promise<Rig> {
  const store = await backend.openStore({ jobs: JOBS });
  const [web, apns, fcm, expo, smtp] = await Promise.all([fakePushService(VAPID.publicKey), fakeApns(), fakeFcm(), fakeExpo(), startLocalSmtp()]);
  const h = await harness({ store }, { ...ENV, ...env }, {
    channels: {
      webpush: createWebPushChannel({ vapid: { ...VAPID, subject: 'mailto:ops@example.com' }, allowInsecure: true }),
      apns: createApnsChannel({ ...apns, endpoint: apns.url }),
      fcm: createFcmChannel({ serviceAccount: fcm.serviceAccount, endpoint: fcm.url }),
      expo: createExpoChannel({ endpoint: expo.url }),
    },
    email: createEmailChannel({ url: smtp.url, from: 'Parley <parley@example.com>' }),
    ...(now ? { now } : {}),
  });
  return {
    h,
    store,
    web,
    apns,
    fcm,
    expo,
    smtp,
    async close() {
      await h.close();
      await store.close();
      await Promise.all([web.close(), apns.close(), fcm.close(), expo.close(), smtp.close()]);
    },
  };
}

type Counts = Record<(typeof CHANNELS)[number], { queued: number; active: number; retrying: number; completed: number; failed: number; attempts: number; deadLetters: number }>;
const status = async (h: Harness): Promise<Counts> => (await h.admin().get('/v1/admin/status')).body.channels;

/** Waits until the outbox is drained and no delivery job is queued, running or waiting to retry. */
async function idle(h: Harness, timeoutMs = 20_000): Promise<Counts> {
  await h.app.delivery.drain();
  const settled = await waitFor(
    async () => {
      const s = await status(h);
      return CHANNELS.every((c) => s[c].queued + s[c].active + s[c].retrying === 0) ? s : null;
    },
    timeoutMs,
    'delivery queues to empty',
  );
  return settled!;
}

async function direct(a: Client, b: string): Promise<string> {
  const res = await a.post('/v1/conversations', { kind: 'direct', members: [b] });
  assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res.body));
  return res.body.conversation.id;
}

async function webDevice(c: Client, web: FakePushService): Promise<{ sub: BrowserSubscription; id: string; deviceId: string }> {
  const sub = web.subscribe();
  const res = await c.post('/v1/me/devices', { platform: 'webpush', subscription: { endpoint: sub.endpoint, keys: sub.keys } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { sub, id: sub.endpoint.split('/').pop()!, deviceId: res.body.device.id };
}

async function tokenDevice(c: Client, platform: 'apns' | 'fcm' | 'expo', token: string): Promise<string> {
  const res = await c.post('/v1/me/devices', { platform, token });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.device.id;
}

const pushesTo = (web: FakePushService, id: string) => web.received.filter((r) => r.id === id);
const hasDevice = async (c: Client, id: string) => (await c.get('/v1/me/devices')).body.devices.some((d: { id: string }) => d.id === id);
const hex = (n: number) => [...Array(n)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');

/** Two users who know each other's names (the token's name claim becomes the profile name). */
async function pair(h: Harness) {
  const ana = h.as(uid('ana'), { name: 'Ana' });
  const bob = h.as(uid('bob'), { name: 'Bob' });
  await ana.get('/v1/me');
  await bob.get('/v1/me');
  return { ana, bob, conversation: await direct(ana, bob.userId) };
}

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
      await idle(r.h);
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
      await idle(r.h);
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
        await idle(r.h);
      } finally {
        await live.close();
      }
      await waitFor(async () => (await r.h.app.services.presence.query({ userId: bob.userId }, [bob.userId]))[0]?.status === 'offline', 5000, 'bob offline');

      const read = await send(ana, conversation, 'read it quickly');
      assert.equal((await bob.post(`/v1/conversations/${conversation}/read`, { seq: read.seq })).status, 200);
      await idle(r.h);

      const gone = await send(ana, conversation, 'oops');
      assert.equal((await ana.delete(`/v1/messages/${gone.id}`)).status, 200);
      await idle(r.h);
      assert.equal(pushesTo(r.web, web.id).length, 0);

      // The pipeline was live all along: the next message does go out, alone.
      await send(ana, conversation, 'now you are away');
      await idle(r.h);
      assert.deepEqual(
        pushesTo(r.web, web.id).map((p) => p.payload.body),
        ['now you are away'],
      );
    });

    test('muted conversations are silent except for mentions, which are their own type, in the push and in the inbox', async () => {
      const { ana, bob } = await pair(r.h);
      const cy = uid('cy');
      const group = await r.h.group(ana, [bob.userId, cy], 'Team');
      const web = await webDevice(bob, r.web);
      assert.equal((await bob.post(`/v1/conversations/${group}/mute`, {})).status, 200);
      await send(ana, group, 'plain chatter');
      await idle(r.h);
      assert.equal(pushesTo(r.web, web.id).length, 0);

      await send(ana, group, 'hey bob, look', { mentions: [bob.userId] });
      await idle(r.h);
      const [push] = pushesTo(r.web, web.id);
      assert.deepEqual({ title: push?.payload.title, body: push?.payload.body, type: push?.payload.data.type }, { title: 'Ana mentioned you in Team', body: 'hey bob, look', type: 'mention' });
      const inbox = (await bob.get('/v1/notifications')).body.notifications;
      assert.deepEqual(
        inbox.map((n: { type: string; title: string; body: string }) => [n.type, n.title, n.body]),
        [['mention', 'Ana mentioned you', 'hey bob, look']],
      );

      // Mentions in muted conversations can be switched off too.
      assert.equal((await bob.put('/v1/me/notification-preferences', { mentionsInMuted: false })).status, 200);
      await send(ana, group, 'bob again', { mentions: [bob.userId] });
      await idle(r.h);
      assert.equal(pushesTo(r.web, web.id).length, 1);
    });

    test('a reaction to your message lands in your inbox and is pushed; reacting to your own is not', async () => {
      const { ana, bob, conversation } = await pair(r.h);
      const mine = await send(bob, conversation, 'lunch?');
      await bob.post(`/v1/conversations/${conversation}/read`, { seq: mine.seq });
      const web = await webDevice(bob, r.web);
      assert.equal((await ana.post(`/v1/messages/${mine.id}/reactions`, { emoji: '👍' })).status, 200);
      assert.equal((await bob.post(`/v1/messages/${mine.id}/reactions`, { emoji: '🎉' })).status, 200);
      await idle(r.h);
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
      await idle(r.h);
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
      await idle(r.h);
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
        const before = await idle(r.h);
        answer();
        const { bob, deviceId } = await pushOnce(register);
        const after = await idle(r.h);
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
      await idle(r.h);
    });

    test('5xx retries with exponential backoff, then dead-letters; an admin lists and retries it and it is delivered', async () => {
      const before = await idle(r.h);
      r.expo.script.next({ status: 503, body: { errors: [{ code: 'UNAVAILABLE' }] } }, 3);
      const token = `ExponentPushToken[${uid('x')}]`;
      const arrivals: number[] = [];
      const count = () => r.expo.received.flatMap((x) => x.messages).filter((m) => m.to === token).length;
      await pushOnce((bob) => tokenDevice(bob, 'expo', token));
      for (let n = 1; n <= 3; n++) {
        await waitFor(() => count() >= n, 15_000, `attempt ${n}`);
        arrivals.push(Date.now());
      }
      const settled = await idle(r.h);
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
      await waitFor(() => count() === 4, 10_000, 'the retried delivery');
      const after = await idle(r.h);
      assert.equal(after.expo.deadLetters, settled.expo.deadLetters - 1);
      assert.equal((await r.h.admin().post(`/v1/admin/dead-letters/${dead.id}/retry`, {})).status, 404);
    });

    test('429 honours Retry-After; 400 and 413 fail at once into the dead-letter queue', async () => {
      r.web.script.next({ status: 429, headers: { 'retry-after': '3' } });
      const { bob } = await pushOnce(async (b) => (await webDevice(b, r.web)).deviceId);
      const id = (await bob.get('/v1/me/devices')).body.devices[0].token.split('/').pop();
      await waitFor(() => pushesTo(r.web, id).length >= 1, 10_000, 'first attempt');
      const first = Date.now();
      await waitFor(() => pushesTo(r.web, id).length >= 2, 15_000, 'the retry');
      assert.ok(Date.now() - first >= 2900, `retried after ${Date.now() - first} ms, Retry-After said 3 s`);

      for (const [channel, answer, register] of [
        ['apns', () => r.apns.script.next({ status: 400, body: { reason: 'PayloadEmpty' } }), (b: Client) => tokenDevice(b, 'apns', hex(64))],
        ['fcm', () => r.fcm.script.next({ status: 400, body: fcmError(400, 'INVALID_ARGUMENT') }), (b: Client) => tokenDevice(b, 'fcm', `fcm-${hex(40)}`)],
        ['webpush', () => r.web.script.next({ status: 413 }), async (b: Client) => (await webDevice(b, r.web)).deviceId],
      ] as const) {
        const before = await idle(r.h);
        answer();
        const { bob: owner, deviceId } = await pushOnce(register);
        const after = await idle(r.h);
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
      await waitFor(() => pushesTo(r.web, web.id).length === 1, 15_000, 'the held push');
      const at = Date.now() + offset;
      assert.ok(at >= windowEnd, `pushed ${windowEnd - at} ms before quiet hours ended`);
      assert.equal(pushesTo(r.web, web.id)[0]!.payload.body, 'are you up?');
    });
  });

  describe(`email digests on ${backend.name}`, () => {
    let r: Rig;
    before(async () => {
      r = await rig(backend);
    });
    after(() => r.close());

    test('unread messages of offline users, escaped in HTML, verbatim in text; nothing unread, nothing sent; never twice', async () => {
      const ana = r.h.as(uid('ana'), { name: 'Ana <img src=x onerror=alert(1)>' });
      await ana.get('/v1/me');
      const bob = r.h.as(uid('bob'), { name: 'Bob', email: 'bob@example.com' });
      await bob.get('/v1/me');
      const quiet = r.h.as(uid('quiet'), { email: 'quiet@example.com' });
      await quiet.get('/v1/me');
      const group = await r.h.group(ana, [bob.userId, quiet.userId], '<b>Team</b>');
      const hostile = '<script>alert(1)</script> & "quotes"\nsecond line';
      const m = await send(ana, group, hostile);
      assert.equal((await quiet.post(`/v1/conversations/${group}/read`, { seq: m.seq })).status, 200);

      const before = r.smtp.received.length;
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 1 });
      const [mail] = await r.smtp.waitFor(before + 1);
      const got = r.smtp.received.at(-1)!;
      assert.ok(mail);
      assert.deepEqual(got.to, ['bob@example.com']);
      assert.match(got.subject, /1 unread message/);
      assert.ok(!got.html.includes('<script>'), 'no raw script tag in the HTML');
      assert.ok(!got.html.includes('<img src=x'), 'no raw img tag in the HTML');
      assert.ok(!got.html.includes('<b>Team</b>'));
      assert.ok(got.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(got.text.includes('<script>alert(1)</script> & "quotes"'), got.text);
      assert.ok(got.text.includes('<b>Team</b>'));

      // Already emailed: the next run sends nothing; a new message makes a new digest of it alone.
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 0 });
      const fresh = await send(ana, group, 'fresh news');
      await quiet.post(`/v1/conversations/${group}/read`, { seq: fresh.seq });
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 1 });
      await r.smtp.waitFor(before + 2);
      const second = r.smtp.received.at(-1)!;
      assert.ok(second.text.includes('fresh news'));
      assert.ok(!second.text.includes('second line'), 'the first message is not emailed twice');
      await idle(r.h);
      assert.equal(r.smtp.received.length, before + 2);
    });

    test('no digest for users online, without an address, with email off, or on do-not-disturb until it ends', async () => {
      const ana = r.h.as(uid('ana'));
      const online = r.h.as(uid('on'), { email: 'on@example.com' });
      const noAddress = r.h.as(uid('noaddr'));
      const off = r.h.as(uid('off'), { email: 'off@example.com' });
      const dnd = r.h.as(uid('dnd'), { email: 'dnd@example.com' });
      for (const c of [ana, online, noAddress, off, dnd]) await c.get('/v1/me');
      await off.put('/v1/me/notification-preferences', { types: { message: { email: false } } });
      await dnd.put('/v1/me/notification-preferences', { doNotDisturb: true });
      const group = await r.h.group(ana, [online.userId, noAddress.userId, off.userId, dnd.userId], 'G');
      const url = await listen(r.h);
      const live = await wsClient(url, online.userId);
      try {
        await send(ana, group, 'hello all');
        assert.deepEqual(await r.h.app.services.digest.run(), { emails: 0 });
      } finally {
        await live.close();
      }
      // Do-not-disturb held it, never dropped it: switched off, the next run sends it.
      await dnd.put('/v1/me/notification-preferences', { doNotDisturb: false });
      await waitFor(async () => (await r.h.app.services.presence.query({ userId: online.userId }, [online.userId]))[0]?.status === 'offline', 5000, 'offline');
      const before = r.smtp.received.length;
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 2 });
      const mails = await r.smtp.waitFor(before + 2);
      assert.deepEqual(mails.slice(before).flatMap((x) => x.to).sort(), ['dnd@example.com', 'on@example.com']);
    });

    test('an SMTP 4xx is retried and delivered; a 5xx is dead-lettered', async () => {
      const ana = r.h.as(uid('ana'));
      const bob = r.h.as(uid('bob'), { email: 'bob4@example.com' });
      const carl = r.h.as(uid('carl'), { email: 'carl5@example.com' });
      await bob.get('/v1/me');
      await carl.get('/v1/me');
      const before = await idle(r.h);
      r.smtp.failNext(451, 'try again later');
      await send(ana, await direct(ana, bob.userId), 'first');
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 1 });
      await waitFor(() => r.smtp.received.some((x) => x.to.includes('bob4@example.com')), 15_000, 'the retried email');
      const mid = await idle(r.h);
      assert.equal(mid.email.attempts - before.email.attempts, 2);
      r.smtp.failNext(550, 'no such mailbox');
      await send(ana, await direct(ana, carl.userId), 'second');
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 1 });
      const after = await idle(r.h);
      assert.equal(after.email.deadLetters - mid.email.deadLetters, 1);
      assert.equal(after.email.attempts - mid.email.attempts, 1);
    });
  });

  describe(`digest schedule on ${backend.name}`, () => {
    let r: Rig;
    before(async () => {
      r = await rig(backend, undefined, { PARLEY_DIGEST_INTERVAL_MINUTES: '30' });
    });
    after(() => r.close());

    test('the schedule: each slot enqueues one digest run, whichever instance ticks, and its worker sends', async () => {
      const ana = r.h.as(uid('ana'));
      const bob = r.h.as(uid('bob'), { email: 'scheduled@example.com' });
      await bob.get('/v1/me');
      await send(ana, await direct(ana, bob.userId), 'on schedule');
      await Promise.all([r.h.app.delivery.scheduleDigest(), r.h.app.delivery.scheduleDigest()]);
      await waitFor(() => r.smtp.received.some((m) => m.to.includes('scheduled@example.com')), 15_000, 'the scheduled digest');
      await idle(r.h);
      assert.equal(r.smtp.received.filter((m) => m.to.includes('scheduled@example.com')).length, 1);
    });
  });
}
