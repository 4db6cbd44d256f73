import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { type Harness, harness, uid, VAPID } from './helpers/harness.ts';
import { listen, wsClient } from './helpers/realtime.ts';

if (skippedPostgres) test('notifications on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`notifications on ${backend.name}`, () => {
    let h: Harness;
    let url: string;
    before(async () => {
      h = await harness(backend);
      url = await listen(h);
    });
    after(() => h.close());

    const send = (userIds: string[], extra: Record<string, unknown> = {}) =>
      h.admin().post('/v1/notifications', { userIds, type: 'system', title: 'Hello', body: 'Welcome aboard', ...extra });

    test('an admin send reaches each inbox and each live connection, with the unread count', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const anaRt = await wsClient(url, ana.userId);
      try {
        const res = await send([ana.userId, bob.userId], { data: { orderId: 7 }, actionUrl: '/orders/7', priority: 'high' });
        assert.equal(res.status, 201);
        assert.equal(res.body.created, 2);
        const live = await anaRt.next('notification:new');
        assert.equal(live.unreadCount, 1);
        assert.equal(live.notification.title, 'Hello');
        const inbox = (await ana.get('/v1/notifications')).body.notifications;
        assert.equal(inbox.length, 1);
        assert.deepEqual(
          { type: inbox[0].type, priority: inbox[0].priority, data: inbox[0].data, actionUrl: inbox[0].actionUrl, readAt: inbox[0].readAt },
          { type: 'system', priority: 'high', data: { orderId: 7 }, actionUrl: '/orders/7', readAt: null },
        );
        assert.equal((await bob.get('/v1/notifications/unread-count')).body.unreadCount, 1);
        assert.equal((await ana.post('/v1/notifications', { userIds: [ana.userId], type: 'system', title: 'x', body: 'y' })).status, 403);
      } finally {
        await anaRt.close();
      }
    });

    test('a repeated idempotency key creates nothing and answers the first notifications', async () => {
      const ana = uid('ana');
      const first = await send([ana], { idempotencyKey: 'welcome-1' });
      const again = await send([ana], { idempotencyKey: 'welcome-1', title: 'Changed' });
      assert.equal(first.status, 201);
      assert.equal(again.status, 200);
      assert.equal(again.body.created, 0);
      assert.deepEqual(again.body.notifications.map((n: { id: string }) => n.id), first.body.notifications.map((n: { id: string }) => n.id));
      assert.equal((await h.as(ana).get('/v1/notifications')).body.notifications.length, 1);
    });

    test('read, read-all, delete and delete-all; read ones expire after 7 days; nobody touches another inbox', async () => {
      const ana = h.as(uid('ana'));
      const eve = h.as(uid('eve'));
      for (let i = 0; i < 3; i++) await send([ana.userId], { title: `n${i}`, type: i === 0 ? 'mention' : 'system' });
      const list = (await ana.get('/v1/notifications')).body.notifications;
      assert.deepEqual(list.map((n: { title: string }) => n.title), ['n2', 'n1', 'n0']);
      assert.equal((await ana.get('/v1/notifications?type=mention')).body.notifications.length, 1);
      assert.equal((await eve.post(`/v1/notifications/${list[0].id}/read`)).status, 404);
      const read = await ana.post(`/v1/notifications/${list[0].id}/read`);
      assert.equal(read.body.unreadCount, 2);
      const week = Date.parse(read.body.notification.expiresAt) - Date.parse(read.body.notification.readAt);
      assert.equal(week, 7 * 24 * 3600 * 1000);
      assert.equal((await ana.get('/v1/notifications?unread=true')).body.notifications.length, 2);
      const page = await ana.get('/v1/notifications?limit=2');
      const rest = await ana.get(`/v1/notifications?limit=2&cursor=${page.body.nextCursor}`);
      assert.deepEqual(rest.body.notifications.map((n: { title: string }) => n.title), ['n0']);
      assert.equal((await ana.post('/v1/notifications/read-all')).body.unreadCount, 0);
      assert.equal((await eve.delete(`/v1/notifications/${list[1].id}`)).status, 404);
      assert.equal((await ana.delete(`/v1/notifications/${list[1].id}`)).status, 204);
      assert.equal((await ana.delete('/v1/notifications')).body.deleted, 2);
      assert.equal((await ana.get('/v1/notifications')).body.notifications.length, 0);
    });

    test('notification:read over realtime updates the user\'s other devices', async () => {
      const userId = uid('ana');
      await send([userId]);
      const phone = await wsClient(url, userId);
      const laptop = await wsClient(url, userId);
      try {
        const [n] = (await h.as(userId).get('/v1/notifications')).body.notifications;
        const ack = await phone.send('notification:read', { notificationId: n.id });
        assert.equal(ack.data.unreadCount, 0);
        assert.equal((await laptop.next('notification:updated')).unreadCount, 0);
      } finally {
        await Promise.all([phone.close(), laptop.close()]);
      }
    });

    test('notification:subscribe: a connection gets notification:new for its chosen types only, and the count for the rest', async () => {
      const userId = uid('ana');
      const phone = await wsClient(url, userId);
      const laptop = await wsClient(url, userId);
      try {
        const bad = await phone.send('notification:subscribe', { types: ['nope'] });
        assert.equal(bad.ok, false);
        assert.equal(bad.error?.code, 'validation_failed');
        assert.deepEqual((await phone.send('notification:subscribe', { types: ['mention'] })).data, { types: ['mention'] });
        await send([userId], { type: 'system', title: 'System' });
        await send([userId], { type: 'mention', title: 'Mention' });
        const first = await phone.next('notification:new');
        assert.equal(first.notification.title, 'Mention', 'the system one never came as notification:new');
        assert.equal((await phone.next('notification:updated')).unreadCount, 1);
        await laptop.next('notification:new', (d) => d.notification.title === 'System');
        await laptop.next('notification:new', (d) => d.notification.title === 'Mention');
        assert.deepEqual(
          phone.events.filter((e) => e.event === 'notification:new').map((e) => e.data.notification.title),
          ['Mention'],
        );
        // null: every type again.
        await phone.send('notification:subscribe', { types: null });
        await send([userId], { type: 'system', title: 'Again' });
        await phone.next('notification:new', (d) => d.notification.title === 'Again');
      } finally {
        await Promise.all([phone.close(), laptop.close()]);
      }
    });

    test('preferences: defaults, validation, and the in-app switch (urgent goes through)', async () => {
      const ana = h.as(uid('ana'));
      const defaults = (await ana.get('/v1/me/notification-preferences')).body;
      assert.deepEqual(defaults, { types: {}, quietHours: { enabled: false, timeZone: 'UTC', windows: [] }, doNotDisturb: false, mentionsInMuted: true });
      const bad = await ana.put('/v1/me/notification-preferences', { quietHours: { enabled: true, timeZone: 'Mars/Olympus', windows: [] } });
      assert.equal(bad.body.error.code, 'validation_failed');
      const prefs = { types: { system: { inApp: false } }, quietHours: { enabled: true, timeZone: 'Europe/Paris', windows: [{ days: [1, 2, 3, 4, 5], start: '22:00', end: '07:00' }] } };
      const put = await ana.put('/v1/me/notification-preferences', prefs);
      assert.equal(put.status, 200);
      assert.deepEqual((await ana.get('/v1/me/notification-preferences')).body, { ...defaults, ...prefs });
      assert.equal((await send([ana.userId])).body.created, 0);
      assert.equal((await send([ana.userId], { priority: 'urgent' })).body.created, 1);
      assert.equal((await send([ana.userId], { type: 'mention' })).body.created, 1);
    });

    test('devices: several per user, the same token is the same device, moved by another login; Web Push endpoints must be public https', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const token = `apns-${uid()}`;
      const first = await ana.post('/v1/me/devices', { platform: 'apns', token });
      assert.equal(first.status, 201);
      assert.equal((await ana.post('/v1/me/devices', { platform: 'apns', token })).body.device.id, first.body.device.id);
      await ana.post('/v1/me/devices', { platform: 'expo', token: 'ExponentPushToken[abcdefgh]' });
      assert.equal((await ana.get('/v1/me/devices')).body.devices.length, 2);
      await bob.post('/v1/me/devices', { platform: 'apns', token });
      assert.equal((await ana.get('/v1/me/devices')).body.devices.length, 1);
      const keys = { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' };
      for (const endpoint of ['http://push.example/x', 'https://127.0.0.1/x', 'https://10.0.0.8/x', 'https://192.168.1.1/x', 'https://169.254.169.254/x', 'https://[::1]/x', 'https://localhost/x']) {
        const res = await ana.post('/v1/me/devices', { platform: 'webpush', subscription: { endpoint, keys } });
        assert.equal(res.body.error?.code, 'validation_failed', endpoint);
      }
      const wp = await ana.post('/v1/me/devices', { platform: 'webpush', subscription: { endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys } });
      assert.equal(wp.status, 201);
      assert.deepEqual(wp.body.device.keys, keys);
      assert.equal((await bob.delete(`/v1/me/devices/${wp.body.device.id}`)).status, 404);
      assert.equal((await ana.delete(`/v1/me/devices/${wp.body.device.id}`)).status, 204);
      assert.equal((await ana.delete(`/v1/me/devices/${wp.body.device.id}`)).status, 404);
    });

    test('browsers get the VAPID public key to subscribe with; without keys it is 404', async () => {
      const ana = h.as(uid('ana'));
      assert.deepEqual((await ana.get('/v1/push/vapid-public-key')).body, { publicKey: VAPID.publicKey });
      const bare = await harness({ store: h.store }, { PARLEY_VAPID_PUBLIC_KEY: '', PARLEY_VAPID_PRIVATE_KEY: '' });
      assert.equal((await bare.as(uid('bob')).get('/v1/push/vapid-public-key')).body.error.code, 'not_found');
      await bare.close();
    });
  });
}
