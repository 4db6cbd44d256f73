import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres, type TestStore } from './helpers/backends.ts';
import { type Harness, harness, send, uid, waitFor } from './helpers/harness.ts';

if (skippedPostgres) test('conversations on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`conversations on ${backend.name}`, () => {
    let h: Harness;
    before(async () => {
      h = await harness(backend);
    });
    after(() => h.close());

    test('a direct conversation is one per pair: creating it again, from either side, returns the same one', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const first = await ana.post('/v1/conversations', { kind: 'direct', members: [bob.userId] });
      assert.equal(first.status, 201);
      assert.equal(first.body.conversation.kind, 'direct');
      assert.deepEqual(first.body.conversation.members.map((m: { userId: string }) => m.userId).sort(), [ana.userId, bob.userId].sort());
      const again = await ana.post('/v1/conversations', { kind: 'direct', members: [bob.userId, ana.userId] });
      const fromBob = await bob.post('/v1/conversations', { kind: 'direct', members: [ana.userId] });
      assert.equal(again.status, 200);
      assert.equal(fromBob.status, 200);
      assert.equal(again.body.conversation.id, first.body.conversation.id);
      assert.equal(fromBob.body.conversation.id, first.body.conversation.id);
    });

    test('racing creations of one direct conversation yield one conversation', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? ana : bob).post('/v1/conversations', { kind: 'direct', members: [(i % 2 ? bob : ana).userId] })),
      );
      assert.equal(new Set(results.map((r) => r.body.conversation.id)).size, 1);
      assert.equal(results.filter((r) => r.status === 201).length, 1);
    });

    test('a direct conversation must name exactly one other user and has fixed members', async () => {
      const ana = h.as(uid('ana'));
      assert.equal((await ana.post('/v1/conversations', { kind: 'direct', members: [ana.userId] })).body.error.code, 'validation_failed');
      assert.equal((await ana.post('/v1/conversations', { kind: 'direct', members: [uid(), uid()] })).body.error.code, 'validation_failed');
      const d = (await ana.post('/v1/conversations', { kind: 'direct', members: [uid('bob')] })).body.conversation.id;
      const add = await ana.post(`/v1/conversations/${d}/members`, { userIds: [uid()] });
      assert.equal(add.status, 409);
      assert.equal(add.body.error.code, 'direct_conversation');
      assert.equal((await ana.delete(`/v1/conversations/${d}/members/${ana.userId}`)).body.error.code, 'direct_conversation');
    });

    test('groups: the creator owns it, admins manage it, members do not', async () => {
      const owner = h.as(uid('own'));
      const mem = h.as(uid('mem'));
      const adm = h.as(uid('adm'));
      const created = await owner.post('/v1/conversations', { kind: 'group', members: [mem.userId, adm.userId], title: 'Team', metadata: { itemId: 'sku-1' } });
      assert.equal(created.status, 201);
      const id = created.body.conversation.id;
      assert.equal(created.body.conversation.role, 'owner');
      assert.deepEqual(created.body.conversation.metadata, { itemId: 'sku-1' });
      // Members cannot rename, add, or remove.
      assert.equal((await mem.patch(`/v1/conversations/${id}`, { title: 'x' })).status, 403);
      assert.equal((await mem.post(`/v1/conversations/${id}/members`, { userIds: [uid()] })).status, 403);
      assert.equal((await mem.delete(`/v1/conversations/${id}/members/${adm.userId}`)).status, 403);
      // The owner promotes; admins then manage members but cannot add admins or touch the owner.
      const promoted = await owner.patch(`/v1/conversations/${id}/members/${adm.userId}`, { role: 'admin' });
      assert.equal(promoted.body.member.role, 'admin');
      assert.equal((await adm.patch(`/v1/conversations/${id}`, { title: 'Renamed', metadata: { itemId: 'sku-2' } })).status, 200);
      const newcomer = uid('new');
      assert.equal((await adm.post(`/v1/conversations/${id}/members`, { userIds: [newcomer] })).status, 200);
      assert.equal((await adm.post(`/v1/conversations/${id}/members`, { userIds: [uid()], role: 'admin' })).status, 403);
      assert.equal((await adm.delete(`/v1/conversations/${id}/members/${owner.userId}`)).status, 403);
      assert.equal((await adm.patch(`/v1/conversations/${id}/members/${mem.userId}`, { role: 'admin' })).status, 403);
      assert.equal((await adm.delete(`/v1/conversations/${id}/members/${newcomer}`)).status, 204);
      const conv = (await owner.get(`/v1/conversations/${id}`)).body.conversation;
      assert.equal(conv.title, 'Renamed');
      assert.deepEqual(conv.metadata, { itemId: 'sku-2' });
      assert.equal(conv.memberCount, 3);
      assert.deepEqual(
        Object.fromEntries(conv.members.map((m: { userId: string; role: string }) => [m.userId, m.role])),
        { [owner.userId]: 'owner', [mem.userId]: 'member', [adm.userId]: 'admin' },
      );
    });

    test('when the owner leaves, the longest-standing admin becomes owner', async () => {
      const owner = h.as(uid('own'));
      const a = h.as(uid('a'));
      const b = h.as(uid('b'));
      const id = await h.group(owner, [a.userId, b.userId]);
      await owner.patch(`/v1/conversations/${id}/members/${b.userId}`, { role: 'admin' });
      assert.equal((await owner.delete(`/v1/conversations/${id}/members/${owner.userId}`)).status, 204);
      assert.equal((await owner.get(`/v1/conversations/${id}`)).status, 404);
      const conv = (await a.get(`/v1/conversations/${id}`)).body.conversation;
      assert.equal(conv.members.find((m: { userId: string }) => m.userId === b.userId).role, 'owner');
      const log = await h.store.events.since(id, 0, 10);
      assert.deepEqual(log.map((e) => e.type), ['member:updated', 'member:left', 'member:updated']);
    });

    test('with no admin the longest-standing member inherits; while an owner remains nobody does', async () => {
      const owner = h.as(uid('own'));
      const early = h.as(uid('zz-early'));
      const late = h.as(uid('aa-late'));
      const id = await h.group(owner, [early.userId]);
      // The next join is stamped a later millisecond (ties would go by user id, which sorts the other way).
      const created = Date.now();
      await waitFor(() => Date.now() > created);
      await owner.post(`/v1/conversations/${id}/members`, { userIds: [late.userId] });
      // A member leaving changes no role.
      const other = h.as(uid('other'));
      await owner.post(`/v1/conversations/${id}/members`, { userIds: [other.userId] });
      assert.equal((await other.delete(`/v1/conversations/${id}/members/${other.userId}`)).status, 204);
      const roles = async () =>
        Object.fromEntries((await early.get(`/v1/conversations/${id}`)).body.conversation.members.map((m: { userId: string; role: string }) => [m.userId, m.role]));
      assert.deepEqual(await roles(), { [owner.userId]: 'owner', [early.userId]: 'member', [late.userId]: 'member' });
      // Joined first, though its id sorts last.
      assert.equal((await owner.delete(`/v1/conversations/${id}/members/${owner.userId}`)).status, 204);
      assert.deepEqual(await roles(), { [early.userId]: 'owner', [late.userId]: 'member' });
    });

    test('members added later see history but start with nothing unread', async () => {
      const ana = h.as(uid('ana'));
      const id = await h.group(ana, []);
      await send(ana, id, 'before you came');
      const bob = h.as(uid('bob'));
      await ana.post(`/v1/conversations/${id}/members`, { userIds: [bob.userId] });
      const conv = (await bob.get(`/v1/conversations/${id}`)).body.conversation;
      assert.equal(conv.unreadCount, 0);
      assert.equal((await bob.get(`/v1/conversations/${id}/messages`)).body.messages.length, 1);
      await send(ana, id, 'after');
      assert.equal((await bob.get(`/v1/conversations/${id}`)).body.conversation.unreadCount, 1);
    });

    test('the list is paged by last activity, with last message, unread count and members', async () => {
      const me = h.as(uid('me'));
      const other = h.as(uid('other'));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await h.group(other, [me.userId], `g${i}`));
      // Activity order: g3 newest, then g1; the rest by creation (newest first).
      await send(other, ids[1]!, 'one');
      await send(other, ids[3]!, 'three');
      const seen: { id: string; title: string; lastMessage: { body: string } | null; unreadCount: number }[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { conversations: typeof seen; nextCursor: string | null } } = await me.get(`/v1/conversations?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.ok(page.body.conversations.length <= 2);
        seen.push(...page.body.conversations);
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(seen.map((c) => c.title), ['g3', 'g1', 'g4', 'g2', 'g0']);
      assert.equal(seen[0]!.lastMessage?.body, 'three');
      assert.equal(seen[0]!.unreadCount, 1);
      assert.equal(seen[2]!.lastMessage, null);
      assert.equal((await me.get('/v1/conversations?cursor=bm90LWEtY3Vyc29y')).body.error.code, 'validation_failed');
    });

    test('a group larger than a page of members shows its first 100 in join order and counts them all', async () => {
      const owner = h.as(uid('own'));
      const id = await h.group(owner, [uid('first')]);
      // Two adds of 60: within one add, members joined together and go by user id (named to
      // sort after the first two, so that the order holds even within one millisecond).
      const batches = [0, 1].map((b) => Array.from({ length: 60 }, (_, k) => `zz${b}-${String(59 - k).padStart(2, '0')}-${uid()}`));
      for (const userIds of batches) assert.equal((await owner.post(`/v1/conversations/${id}/members`, { userIds })).status, 200);
      const view = async () => (await owner.get(`/v1/conversations/${id}`)).body.conversation;
      const joined = [...batches[0]!.sort(), ...batches[1]!.sort()];
      let conv = await view();
      assert.equal(conv.memberCount, 122);
      assert.equal(conv.members.length, 100);
      assert.deepEqual(conv.members.slice(2).map((m: { userId: string }) => m.userId), joined.slice(0, 98));
      const removed = [joined[0]!, joined[70]!];
      for (const userId of removed) assert.equal((await owner.delete(`/v1/conversations/${id}/members/${userId}`)).status, 204);
      conv = await view();
      assert.equal(conv.memberCount, 120);
      assert.deepEqual(conv.members.slice(2).map((m: { userId: string }) => m.userId), joined.filter((u) => !removed.includes(u)).slice(0, 98));
      const listed = (await owner.get('/v1/conversations?limit=5')).body.conversations.find((c: { id: string }) => c.id === id);
      assert.equal(listed.memberCount, 120);
      assert.equal(listed.members.length, 100);
    });

    test('every member, a page at a time in join order, for any member and nobody else', async () => {
      const owner = h.as(uid('own'));
      const first = h.as(uid('first'));
      const id = await h.group(owner, [first.userId]);
      // As above: within one add, members joined together and go by user id.
      const batches = [0, 1].map((b) => Array.from({ length: 60 }, (_, k) => `zz${b}-${String(59 - k).padStart(2, '0')}-${uid()}`));
      for (const userIds of batches) assert.equal((await owner.post(`/v1/conversations/${id}/members`, { userIds })).status, 200);
      // The owner and the first member joined together, at the group's creation.
      const everyone = [...[owner.userId, first.userId].sort(), ...batches[0]!.sort(), ...batches[1]!.sort()];
      type Page = { members: { userId: string; role: string; joinedAt: string; readSeq: number }[]; memberCount: number; nextCursor: string | null };
      const page = async (q: string) => {
        const r: { status: number; body: Page } = await first.get(`/v1/conversations/${id}/members?${q}`);
        assert.equal(r.status, 200, q);
        return r.body;
      };
      const pages: Page[] = [await page('limit=50')];
      // A member who leaves between pages moves nobody else: the next page starts after the last one seen.
      const leaving = everyone[60]!;
      assert.equal((await owner.delete(`/v1/conversations/${id}/members/${leaving}`)).status, 204);
      while (pages.at(-1)!.nextCursor && pages.length < 10) pages.push(await page(`limit=50&cursor=${pages.at(-1)!.nextCursor}`));
      assert.deepEqual(
        pages.map((p) => [p.members.length, p.memberCount]),
        [
          [50, 122],
          [50, 121],
          [21, 121],
        ],
      );
      assert.deepEqual(
        pages.flatMap((p) => p.members.map((m) => m.userId)),
        everyone.filter((u) => u !== leaving),
      );
      assert.equal(pages.at(-1)!.nextCursor, null);
      assert.deepEqual(Object.fromEntries(pages[0]!.members.slice(0, 2).map((m) => [m.userId, m.role])), { [owner.userId]: 'owner', [first.userId]: 'member' });
      // 100 a page unless asked; the page matches the conversation's own first 100.
      const whole = await page('');
      assert.equal(whole.members.length, 100);
      assert.ok(whole.nextCursor);
      assert.deepEqual(whole.members, (await first.get(`/v1/conversations/${id}`)).body.conversation.members);
      // Not a member: the conversation does not exist for them.
      for (const who of [h.as(uid('eve')), h.as(leaving)]) {
        const r = await who.get(`/v1/conversations/${id}/members`);
        assert.deepEqual([r.status, r.body.error?.code], [404, 'not_found']);
      }
      // Cursors this server did not issue for members, and page sizes out of bounds, are refused.
      const conversationsCursor = (await owner.get('/v1/conversations?limit=1')).body.nextCursor;
      assert.ok(conversationsCursor);
      const forged = (keyset: unknown[]) => Buffer.from(JSON.stringify(keyset)).toString('base64url');
      for (const q of [
        'cursor=nope',
        `cursor=${conversationsCursor}`,
        `cursor=${forged(['user', first.userId])}`,
        `cursor=${forged(['member', '2026-01-01T00:00:00.000Z', first.userId])}`,
        `cursor=${forged(['member', '1'.repeat(17), first.userId])}`,
        `cursor=${forged(['member', '1767225600000000', 'a b'])}`,
        'limit=0',
        'limit=1001',
        'limit=ten',
      ]) {
        const r = await first.get(`/v1/conversations/${id}/members?${q}`);
        assert.deepEqual([r.status, r.body.error?.code], [400, 'validation_failed'], q);
      }
    });

    test('members who joined within one millisecond page one at a time, each once, in join order', async () => {
      const owner = h.as(uid('own'));
      const joiners = ['a', 'b', 'c', 'd'].map((k) => uid(k));
      const id = await h.group(owner, joiners);
      // Times the server never writes itself (it writes milliseconds), as an import could: a
      // cursor holding only milliseconds would repeat or skip members between pages.
      const micros = { [joiners[0]!]: 3, [joiners[1]!]: 1, [joiners[2]!]: 1, [joiners[3]!]: 2, [owner.userId]: 0 };
      for (const [userId, us] of Object.entries(micros)) {
        await (h.store as TestStore).query(
          `UPDATE conversation_members SET joined_at = timestamptz '2026-05-01T10:00:00.123Z' + $3::int * interval '1 microsecond'
           WHERE conversation_id = $1 AND user_id = $2`,
          [id, userId, us],
        );
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const r: { status: number; body: { members: { userId: string }[]; nextCursor: string | null } } = await owner.get(
          `/v1/conversations/${id}/members?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(r.status, 200);
        seen.push(...r.body.members.map((m) => m.userId));
        cursor = r.body.nextCursor;
      } while (cursor && seen.length < 10);
      const byJoin = Object.keys(micros).sort((x, y) => micros[x]! - micros[y]! || (x < y ? -1 : 1));
      assert.deepEqual(seen, byJoin);
    });

    test('archive hides a conversation until a new message; mute keeps it but drops it from the total', async () => {
      const me = h.as(uid('me'));
      const other = h.as(uid('other'));
      const id = await h.group(other, [me.userId]);
      await send(other, id, 'first');
      const archived = await me.post(`/v1/conversations/${id}/archive`);
      assert.equal(archived.body.conversation.archived, true);
      const listed = async (q = '') => (await me.get(`/v1/conversations${q}`)).body.conversations.map((c: { id: string }) => c.id);
      assert.ok(!(await listed()).includes(id));
      assert.ok((await listed('?archived=true')).includes(id));
      // A reaction is not a new message: still hidden.
      const m = await send(me, await h.group(me, []), 'elsewhere');
      await me.post(`/v1/messages/${m.id}/reactions`, { emoji: 'x' });
      await send(other, id, 'wake up');
      assert.ok((await listed()).includes(id));
      assert.equal((await me.get(`/v1/conversations/${id}`)).body.conversation.archived, false);

      const muted = await me.post(`/v1/conversations/${id}/mute`, {});
      assert.ok(muted.body.conversation.mutedUntil > '9000');
      const unread = (await me.get('/v1/me/unread')).body;
      assert.equal(unread.conversations[id], 2);
      assert.equal(unread.totalUnread, 0);
      const until = new Date(Date.now() + 3600_000).toISOString();
      assert.equal((await me.post(`/v1/conversations/${id}/mute`, { until })).body.conversation.mutedUntil, until);
      assert.equal((await me.post(`/v1/conversations/${id}/mute`, { until: '2001-01-01T00:00:00Z' })).body.error.code, 'validation_failed');
      await me.delete(`/v1/conversations/${id}/mute`);
      assert.equal((await me.get('/v1/me/unread')).body.totalUnread, 2);
    });
  });
}
