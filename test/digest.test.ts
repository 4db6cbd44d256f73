import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { send, uid, waitFor } from './helpers/harness.ts';
import { listen, wsClient } from './helpers/realtime.ts';
import { rig, type Rig, idle, direct } from './helpers/delivery-rig.ts';

if (skippedPostgres) test('digests on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
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
      await idle(r);
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
      await waitFor(async () => (await r.h.app.services.presence.query({ userId: online.userId }, [online.userId]))[0]?.status === 'offline', 30_000, 'offline');
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
      const before = await idle(r);
      r.smtp.failNext(451, 'try again later');
      await send(ana, await direct(ana, bob.userId), 'first');
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 1 });
      await waitFor(() => r.smtp.received.some((x) => x.to.includes('bob4@example.com')), 15_000, 'the retried email');
      const mid = await idle(r);
      assert.equal(mid.email.attempts - before.email.attempts, 2);
      r.smtp.failNext(550, 'no such mailbox');
      await send(ana, await direct(ana, carl.userId), 'second');
      assert.deepEqual(await r.h.app.services.digest.run(), { emails: 1 });
      const after = await idle(r);
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
      await idle(r);
      assert.equal(r.smtp.received.filter((m) => m.to.includes('scheduled@example.com')).length, 1);
    });
  });
}

