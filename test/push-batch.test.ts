import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { PushDecision, PushJob } from '../src/services/push.ts';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { counting, statements } from './helpers/counting-db.ts';
import { type Client, send, uid, waitFor } from './helpers/harness.ts';
import { idle, type Rig, rig, tokenDevice } from './helpers/delivery-rig.ts';
import { listen, wsClient } from './helpers/realtime.ts';

if (skippedPostgres) test('push decisions in a batch on postgres', { skip: skippedPostgres }, () => {});

/**
 * The push worker decides ten jobs a fetch together (services.push.decide), a statement per
 * step for the batch: a message to a large group's offline members is a decision for each
 * of them at once. Called here directly, so what it runs can be counted.
 */
for (const backend of backends) {
  describe(`push decisions in a batch on ${backend.name}`, () => {
    let r: Rig;
    before(async () => {
      r = await rig(backend, undefined, {}, { wrapDb: counting });
    });
    after(() => r.close());

    const decide = async (jobs: { job: PushJob; jobId: string }[]) => {
      const ran: string[] = [];
      const decisions = await statements.run(ran, () => r.h.app.services.push.decide(jobs));
      return { decisions, ran };
    };
    const chat = (userId: string, conversationId: string) => ({ job: { kind: 'conversation', userId, conversationId } as PushJob, jobId: randomUUID() });
    const note = (userId: string, notificationId: string | null) => ({
      job: { kind: 'notification', userId, notificationId, type: 'system', priority: 'normal', title: 'Maintenance', body: 'Tonight at ten', data: {} } as PushJob,
      jobId: randomUUID(),
    });
    const expoPushes = (token: string) => r.expo.received.flatMap((x) => x.messages).filter((m: { to: string }) => m.to === token);

    test('each job of a batch gets the decision it would get alone, and the batch runs the statements of a batch of three', async () => {
      const ana = r.h.as(uid('ana'), { name: 'Ana' });
      await ana.get('/v1/me');
      const names = ['p0', 'p1', 'p2', 'p3', 'p4', 'muted', 'mutedMentioned', 'reader', 'bare', 'live', 'pushOff', 'dnd'] as const;
      const m = Object.fromEntries(names.map((n) => [n, r.h.as(uid(n))])) as Record<(typeof names)[number], Client>;
      const group = await r.h.group(ana, Object.values(m).map((c) => c.userId), 'Team');
      // Inbox notifications' pushes, to users outside the group.
      const inboxNames = ['inbox1', 'inbox2', 'inboxRead', 'inboxNoEntry'] as const;
      const inbox = Object.fromEntries(inboxNames.map((n) => [n, r.h.as(uid(n))])) as Record<(typeof inboxNames)[number], Client>;
      for (const c of Object.values(inbox)) await c.get('/v1/me');
      const sent = await r.h.admin().post('/v1/notifications', { userIds: [inbox.inbox1.userId, inbox.inbox2.userId, inbox.inboxRead.userId], type: 'system', title: 'Maintenance', body: 'Tonight at ten' });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      const entry = (c: Client): string => sent.body.notifications.find((n: { userId: string }) => n.userId === c.userId).id;
      await idle(r); // the invitations and these entries' own pushes, before any device exists
      assert.equal((await inbox.inboxRead.post(`/v1/notifications/${entry(inbox.inboxRead)}/read`, {})).status, 200);
      const tokens = new Map<string, string>();
      for (const [n, c] of [...Object.entries(m), ...Object.entries(inbox)]) {
        if (n === 'bare') continue;
        const token = `ExponentPushToken[${uid(n)}]`;
        tokens.set(n, token);
        await tokenDevice(c, 'expo', token);
      }
      for (const n of ['muted', 'mutedMentioned'] as const) assert.equal((await m[n].post(`/v1/conversations/${group}/mute`, {})).status, 200);
      assert.equal((await m.pushOff.put('/v1/me/notification-preferences', { types: { message: { push: false } } })).status, 200);
      assert.equal((await m.dnd.put('/v1/me/notification-preferences', { doNotDisturb: true })).status, 200);
      // Online before the messages, so the dispatcher queues no push of its own for them.
      const live = await wsClient(await listen(r.h), m.live.userId);
      try {
        await waitFor(async () => (await r.h.app.services.presence.query({ userId: m.live.userId }, [m.live.userId]))[0]?.status === 'online', 30_000, 'live online');
        await send(ana, group, 'first');
        const last = await send(ana, group, 'look at this', { mentions: [m.mutedMentioned.userId] });
        assert.equal((await m.reader.post(`/v1/conversations/${group}/read`, { seq: last.seq })).status, 200);

        const three = await decide([chat(m.p0.userId, group), chat(m.p1.userId, group), note(inbox.inbox1.userId, entry(inbox.inbox1))]);
        assert.deepEqual(three.decisions, [{ outcome: 'sent', devices: 1 }, { outcome: 'sent', devices: 1 }, { outcome: 'sent', devices: 1 }]);

        const stranger = uid('stranger');
        const batch = [
          ...names.filter((n) => n !== 'p0' && n !== 'p1').map((n) => chat(m[n].userId, group)),
          chat(m.p2.userId, group),
          chat(stranger, group),
          note(inbox.inbox2.userId, entry(inbox.inbox2)),
          note(inbox.inboxRead.userId, entry(inbox.inboxRead)),
          note(inbox.inboxNoEntry.userId, null),
        ];
        const together = await decide(batch);
        const expected: Record<string, PushDecision> = {
          p2: { outcome: 'sent', devices: 1 },
          p3: { outcome: 'sent', devices: 1 },
          p4: { outcome: 'sent', devices: 1 },
          muted: { outcome: 'skipped', reason: 'muted' },
          mutedMentioned: { outcome: 'sent', devices: 1 },
          reader: { outcome: 'skipped', reason: 'read or deleted' },
          bare: { outcome: 'skipped', reason: 'no devices' },
          live: { outcome: 'skipped', reason: 'online' },
          pushOff: { outcome: 'skipped', reason: 'preferences' },
          dnd: { outcome: 'held', until: null }, // do not disturb has no end: left for the digest
        };
        assert.deepEqual(together.decisions, [
          ...names.filter((n) => n !== 'p0' && n !== 'p1').map((n) => expected[n]),
          { outcome: 'skipped', reason: 'pushed by another job' }, // p2 twice in one batch: the first decides
          { outcome: 'skipped', reason: 'not a member' },
          { outcome: 'sent', devices: 1 },
          { outcome: 'skipped', reason: 'read or deleted' },
          { outcome: 'sent', devices: 1 }, // no inbox entry: nothing to have been read
        ]);
        assert.deepEqual(together.ran, three.ran, `a batch of ${batch.length} ran\n${together.ran.join('\n')}\na batch of three ran\n${three.ran.join('\n')}`);
        console.log(`a batch of ${batch.length} push decisions on ${backend.name}: ${together.ran.length} statements, as a batch of three`);

        // What was pushed is claimed: deciding again finds nothing new.
        const again = await decide([chat(m.p1.userId, group), chat(m.p3.userId, group)]);
        assert.deepEqual(again.decisions, [
          { outcome: 'skipped', reason: 'read or deleted' },
          { outcome: 'skipped', reason: 'read or deleted' },
        ]);
        // Read while online, as someone reading live does: the dispatcher's own push for them finds nothing.
        assert.equal((await m.live.post(`/v1/conversations/${group}/read`, { seq: last.seq })).status, 200);
      } finally {
        await live.close();
      }

      // Each sent decision reached its device once, with its own text and badge.
      await idle(r);
      for (const n of ['p0', 'p1', 'p2', 'p3', 'p4'] as const) {
        const pushes = expoPushes(tokens.get(n)!);
        assert.equal(pushes.length, 1, `${n}: ${JSON.stringify(pushes)}`);
        assert.deepEqual({ title: pushes[0].title, body: pushes[0].body, badge: pushes[0].badge }, { title: 'Team', body: '2 new messages from Ana', badge: 2 });
      }
      const [mention] = expoPushes(tokens.get('mutedMentioned')!);
      assert.deepEqual({ title: mention?.title, body: mention?.body, badge: mention?.badge }, { title: 'Ana mentioned you in Team', body: 'look at this', badge: 0 });
      for (const n of ['inbox1', 'inbox2', 'inboxNoEntry'] as const) {
        const pushes = expoPushes(tokens.get(n)!);
        assert.deepEqual(pushes.map((p: { title: string; body: string }) => [p.title, p.body]), [['Maintenance', 'Tonight at ten']], n);
      }
      for (const n of ['muted', 'reader', 'live', 'pushOff', 'dnd', 'inboxRead'] as const) assert.deepEqual(expoPushes(tokens.get(n)!), [], n);
    });

    test('device lookups made together, as a batch of device jobs started side by side makes them, are one statement', async () => {
      const bo = r.h.as(uid('bo'));
      const cy = r.h.as(uid('cy'));
      const ids: string[] = [];
      for (let k = 0; k < 3; k++) ids.push(await tokenDevice(bo, 'expo', `ExponentPushToken[${uid('bo')}]`));
      const cysDevice = await tokenDevice(cy, 'expo', `ExponentPushToken[${uid('cy')}]`);
      const { push } = r.h.app.services;
      const ran: string[] = [];
      const found = await statements.run(ran, () =>
        Promise.all([
          ...ids.map((deviceId) => push.device({ userId: bo.userId, deviceId })),
          push.device({ userId: bo.userId, deviceId: randomUUID() }), // unregistered
          push.device({ userId: bo.userId, deviceId: cysDevice }), // someone else's
        ]),
      );
      assert.deepEqual(found.map((d) => d?.id ?? null), [...ids, null, null]);
      assert.deepEqual(ran, ['parley_device_get']);
    });

    // PGlite has one connection: no other transaction can hold a row while a decision runs.
    if (backend.name === 'postgres') {
      test('a batch never waits for a member row another transaction holds: it fails at once, to be decided a job at a time', async () => {
        const ana = r.h.as(uid('ana'), { name: 'Ana' });
        const [q1, q2] = [r.h.as(uid('q1')), r.h.as(uid('q2'))];
        const group = await r.h.group(ana, [q1.userId, q2.userId], 'Pair');
        await idle(r);
        for (const q of [q1, q2]) await tokenDevice(q, 'expo', `ExponentPushToken[${uid(q.userId)}]`);
        await send(ana, group, 'hello');
        // Another transaction holds q1's row (a marker moving), as a send batch would its sender's.
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        const holding = r.store.transaction(async (tx) => {
          await tx.members.advanceMarkers(group, q1.userId, 0, 'delivered');
          locked();
          await released;
        });
        try {
          await isLocked;
          let timer: NodeJS.Timeout | undefined;
          const outcome = await Promise.race([
            decide([chat(q1.userId, group), chat(q2.userId, group)]).then(
              () => 'decided',
              (err: { code?: string }) => err.code,
            ),
            new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting after 20 s'), 20_000))),
          ]);
          clearTimeout(timer);
          assert.equal(outcome, '55P03', 'lock_not_available, at once');
          assert.deepEqual((await decide([chat(q2.userId, group)])).decisions, [{ outcome: 'sent', devices: 1 }], 'alone, q2 is pushed');
        } finally {
          release();
          await holding;
        }
        assert.deepEqual((await decide([chat(q1.userId, group)])).decisions, [{ outcome: 'sent', devices: 1 }], 'and q1 once its row is free');
      });
    }
  });
}
