import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { gql, gqlWs, record } from './helpers/graphql.ts';
import { type Client, type Harness, harness, send, uid, waitFor } from './helpers/harness.ts';
import { listen, socketClient, wsClient } from './helpers/realtime.ts';

if (skippedPostgres) test('graphql subscriptions on postgres', { skip: skippedPostgres }, () => {});

const MESSAGE_ADDED = 'subscription($c: ID!, $since: Int) { messageAdded(conversationId: $c, since: $since) { id seq changeSeq content reactions { emoji count } editedAt deletedAt } }';
const EVENTS = 'subscription($c: ID!, $since: Int) { conversationEvents(conversationId: $c, since: $since) { type seq message { id } userId member { userId } } }';
const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq } }';

/** Every message of a conversation as the server holds it now, by id. */
async function serverState(c: Client, id: string): Promise<Map<string, any>> {
  const all = new Map<string, any>();
  let after = 0;
  for (;;) {
    const page = (await c.get(`/v1/conversations/${id}/messages?after=${after}&limit=200`)).body;
    for (const m of page.messages) all.set(m.id, m);
    if (!page.hasMore) return all;
    after = page.messages.at(-1).seq;
  }
}

/** A GraphQL message as the REST one it must equal. */
const asRest = (m: any) => ({
  id: m.id,
  seq: m.seq,
  body: m.content,
  reactions: m.reactions.map((r: any) => ({ emoji: r.emoji, count: r.count })),
  editedAt: m.editedAt,
  deletedAt: m.deletedAt,
});

for (const backend of backends) {
  describe(`GraphQL subscriptions on ${backend.name}`, () => {
    let h: Harness;
    let url: string;
    before(async () => {
      h = await harness(backend);
      url = await listen(h);
    });
    after(() => h.close());

    test('messages sent over GraphQL, Socket.IO and /v1/ws reach subscribers of all three, each in seq order', async () => {
      const ana = uid('ana');
      const bob = uid('bob');
      const id = await h.group(h.as(ana), [bob]);
      const bobGql = await gqlWs(url, bob);
      const bobSio = await socketClient(url, bob);
      const bobWs = await wsClient(url, bob);
      const anaGql = await gqlWs(url, ana);
      const anaSio = await socketClient(url, ana);
      const anaWs = await wsClient(url, ana);
      try {
        // From the start of the conversation (it has nothing yet): a subscription the server
        // sets up only after the warm-up committed still gets it, from the log.
        const sub = record(bobGql, MESSAGE_ADDED, { c: id, since: 0 });
        const anaSub = record(anaGql, MESSAGE_ADDED, { c: id, since: 0 });
        await send(h.as(ana), id, 'warm-up');
        await sub.count(1);
        await anaSub.count(1);
        // At once, so the server orders them: over HTTP, over graphql-ws, over Socket.IO and over /v1/ws.
        const N = 8;
        const body = (via: string, i: number) => ({ conversationId: id, clientMsgId: randomUUID(), body: `${via} ${i}` });
        await Promise.all([
          ...Array.from({ length: N }, (_, i) => gql(url, ana, SEND, { i: { ...body('http', i), body: undefined, content: `http ${i}` } })),
          ...Array.from({ length: N }, (_, i) =>
            new Promise((resolve, reject) =>
              anaGql.subscribe({ query: SEND, variables: { i: { ...body('graphql-ws', i), body: undefined, content: `graphql-ws ${i}` } } }, { next: resolve, error: reject, complete: () => {} }),
            ),
          ),
          ...Array.from({ length: N }, (_, i) => anaSio.send('message:send', body('socket.io', i))),
          ...Array.from({ length: N }, (_, i) => anaWs.send('message:send', body('ws', i))),
        ]);
        const total = 1 + 4 * N;
        const expected = Array.from({ length: total }, (_, i) => i + 1);
        await sub.count(total);
        assert.deepEqual(sub.results.map((r) => r.data.messageAdded.seq), expected, 'GraphQL subscriber');
        const atSio = () => bobSio.events.filter((e) => e.event === 'message:new').map((e) => e.data.seq);
        const atWs = () => bobWs.events.filter((e) => e.event === 'message:new').map((e) => e.data.seq);
        await waitFor(() => atSio().length === total && atWs().length === total, 10_000, 'every message at Socket.IO and /v1/ws');
        assert.deepEqual(atSio(), expected, 'Socket.IO subscriber');
        assert.deepEqual(atWs(), expected, '/v1/ws subscriber');
        // The sender's own GraphQL subscription sees its GraphQL sends too (a subscription is not an ack).
        await anaSub.count(total);
        assert.deepEqual(anaSub.results.map((r) => r.data.messageAdded.seq), expected);
        sub.stop();
        anaSub.stop();
      } finally {
        await Promise.all([bobGql.dispose(), anaGql.dispose(), bobSio.close(), bobWs.close(), anaSio.close(), anaWs.close()]);
      }
    });

    test('messageAdded(since) after 300 changes made while away delivers exactly the server state, then goes on live with no gap or duplicate', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const cat = h.as(uid('cat'));
      const id = await h.group(ana, [bob.userId, cat.userId]);
      const before = await send(ana, id, 'seen before leaving');
      const replica = new Map<string, any>();
      const seqs: number[] = [];
      const apply = (r: { data?: any; errors?: any[] }) => {
        assert.equal(r.errors, undefined, JSON.stringify(r.errors));
        const m = r.data.messageAdded;
        seqs.push(m.changeSeq);
        replica.set(m.id, asRest(m));
      };
      let client = await gqlWs(url, bob.userId);
      const first = record(client, MESSAGE_ADDED, { c: id, since: 0 });
      await first.count(1);
      first.results.forEach(apply);
      await client.dispose();
      const cursor = seqs.at(-1)!;
      assert.equal(cursor, before.seq);

      // Away: 300 changes of every kind a message can take.
      const sent: any[] = [];
      for (let i = 0; i < 200; i++) sent.push(await send(i % 2 ? ana : cat, id, `m${i}`));
      const by = (m: any) => (m.senderId === ana.userId ? ana : cat);
      const ok = (res: { status: number; body: unknown }) => assert.equal(res.status, 200, JSON.stringify(res.body));
      for (let i = 0; i < 40; i++) ok(await by(sent[i * 5]).patch(`/v1/messages/${sent[i * 5].id}`, { body: `edited ${i}` }));
      for (let i = 0; i < 30; i++) ok(await by(sent[i * 6 + 2]).delete(`/v1/messages/${sent[i * 6 + 2].id}`));
      for (let i = 0; i < 30; i++) ok(await ana.post(`/v1/messages/${sent[i * 6 + 4].id}/reactions`, { emoji: i % 3 ? '👍' : '🎉' }));
      const lastSeq = (await ana.get(`/v1/conversations/${id}`)).body.conversation.lastSeq;
      assert.equal(lastSeq - cursor, 300);

      client = await gqlWs(url, bob.userId);
      try {
        const sub = record(client, MESSAGE_ADDED, { c: id, since: cursor });
        // Changes made while the replay runs land at the seam between log and live.
        const during = Promise.all(Array.from({ length: 20 }, (_, i) => send(i % 2 ? ana : cat, id, `during ${i}`)));
        await during;
        await sub.count(320, 30_000);
        sub.results.forEach(apply);
        assert.deepEqual(seqs.slice(1), Array.from({ length: 320 }, (_, i) => cursor + 1 + i), 'every change once, in order');
        assert.deepEqual(replica, new Map([...(await serverState(bob, id))].map(([k, m]) => [k, asRest({ ...m, content: m.body })])));
        // And live after that.
        const later = await send(ana, id, 'later');
        await sub.count(321);
        apply(sub.results[320]!);
        assert.equal(seqs.at(-1), later.seq);
        sub.stop();
      } finally {
        await client.dispose();
      }
    });

    test('a change whose live event never came (the bus is at most once) is read from the log: no gap', async () => {
      const ana = h.as(uid('ana'));
      const bob = uid('bob');
      const id = await h.group(ana, [bob]);
      const client = await gqlWs(url, bob);
      try {
        // since 0: set up after 'one' committed, the subscription still starts with it.
        const sub = record(client, MESSAGE_ADDED, { c: id, since: 0 });
        await send(ana, id, 'one');
        await sub.count(1);
        // Committed but never published, as when a cluster's pub/sub drops a message.
        const silent = await h.store.messages.send({
          id: randomUUID(), conversationId: id, seq: 0, senderId: ana.userId, clientMsgId: randomUUID(), body: 'unannounced',
          attachments: [], replyTo: null, replyCount: 0, mentions: [], reactions: [], createdAt: new Date().toISOString(), editedAt: null, deletedAt: null,
        });
        assert.equal(silent.outcome, 'created');
        await send(ana, id, 'three');
        await sub.count(3);
        assert.deepEqual(sub.results.map((r) => [r.data.messageAdded.changeSeq, r.data.messageAdded.content]), [[1, 'one'], [2, 'unannounced'], [3, 'three']]);
        sub.stop();
      } finally {
        await client.dispose();
      }
    });

    test('past PARLEY_SYNC_LIMIT the replay is an explicit reset, then live changes follow', async () => {
      const small = await harness({ store: h.store }, { PARLEY_SYNC_LIMIT: '10' });
      const surl = await listen(small);
      const ana = small.as(uid('ana'));
      const bob = uid('bob');
      const id = await small.group(ana, [bob]);
      for (let i = 0; i < 12; i++) await send(ana, id, `m${i}`);
      const client = await gqlWs(surl, bob);
      try {
        const messages = record(client, MESSAGE_ADDED, { c: id, since: 0 });
        const events = record(client, EVENTS, { c: id, since: 0 });
        await messages.count(1);
        await events.count(1);
        assert.equal(messages.results[0]!.data, null);
        assert.deepEqual(messages.results[0]!.errors!.map((e: any) => [e.extensions.code, e.extensions.lastSeq]), [['sync_reset', 12]]);
        assert.deepEqual(events.results[0]!.data.conversationEvents, { type: 'reset', seq: 12, message: null, userId: null, member: null });
        const next = await send(ana, id, 'after the reset');
        await messages.count(2);
        await events.count(2);
        assert.equal(messages.results[1]!.data.messageAdded.changeSeq, next.seq);
        assert.deepEqual(events.results[1]!.data.conversationEvents.seq, next.seq);
      } finally {
        await client.dispose();
        await small.close();
      }
    });

    test('isolation: a non-member is refused; removal ends every subscription to the conversation', async () => {
      const ana = h.as(uid('ana'));
      const bob = uid('bob');
      const eve = uid('eve');
      const id = await h.group(ana, [bob]);
      const eveClient = await gqlWs(url, eve);
      const bobClient = await gqlWs(url, bob);
      try {
        for (const query of [MESSAGE_ADDED, EVENTS, 'subscription($c: ID!) { typingIndicators(conversationId: $c) { userId } }']) {
          const refused = record(eveClient, query, { c: id });
          await refused.ended();
          assert.equal(refused.results[0]?.errors?.[0]?.extensions?.code, 'not_found', query);
        }
        // since 0 (a new group has no changes yet): 'before' reaches them however late the
        // server sets them up.
        const messages = record(bobClient, MESSAGE_ADDED, { c: id, since: 0 });
        const events = record(bobClient, EVENTS, { c: id, since: 0 });
        const typing = record(bobClient, 'subscription($c: ID!) { typingIndicators(conversationId: $c) { userId isTyping } }', { c: id });
        await send(ana, id, 'before');
        await messages.count(1);
        await events.count(1);
        assert.equal((await ana.delete(`/v1/conversations/${id}/members/${bob}`)).status, 204);
        await Promise.all([messages.ended(), events.ended(), typing.ended()]);
        assert.deepEqual(events.results.map((r) => [r.data.conversationEvents.type, r.data.conversationEvents.userId]), [['message:new', null], ['member:left', bob]]);
        await send(ana, id, 'after');
        await gql(url, ana.userId, 'mutation($c: ID!) { setTyping(conversationId: $c, typing: true) { success } }', { c: id });
        assert.equal(messages.results.length, 1);
        assert.equal(typing.results.length, 0);
        assert.equal(h.app.hub.of(bob).size, 1, 'the socket itself stays');
      } finally {
        await Promise.all([eveClient.dispose(), bobClient.dispose()]);
      }
    });

    test('typing, presence, unread counts and notifications reach GraphQL subscribers', async () => {
      const ana = uid('ana');
      const bob = uid('bob');
      const id = await h.group(h.as(ana), [bob]);
      const bobClient = await gqlWs(url, bob);
      const anaClient = await gqlWs(url, ana);
      try {
        const typing = record(bobClient, 'subscription($c: ID!) { typingIndicators(conversationId: $c) { conversationId userId isTyping user { id } } }', { c: id });
        const ownTyping = record(anaClient, 'subscription($c: ID!) { typingIndicators(conversationId: $c) { userId } }', { c: id });
        const presence = record(bobClient, 'subscription($u: [ID!]!) { userOnlineStatusChanged(userIds: $u) { userId isOnline status } }', { u: [ana] });
        const unread = record(bobClient, 'subscription { unreadCountUpdated { total conversationId conversationUnread } }');
        const inbox = record(bobClient, 'subscription { notificationAdded { title type read } }');
        // The subscriptions are live once the server answers something sent after them on the same socket.
        await new Promise((resolve, reject) => bobClient.subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => {} }));

        await gql(url, ana, 'mutation($c: ID!) { setTyping(conversationId: $c, typing: true) { success } }', { c: id });
        await typing.count(1);
        assert.deepEqual(typing.results[0]!.data.typingIndicators, { conversationId: id, userId: ana, isTyping: true, user: { id: ana } });

        await send(h.as(ana), id, 'unread one');
        await unread.count(1);
        assert.deepEqual(unread.results.at(-1)!.data.unreadCountUpdated, { total: 1, conversationId: id, conversationUnread: 1 });
        await gql(url, bob, 'mutation($c: ID!) { markConversationAsRead(conversationId: $c) { success } }', { c: id });
        await waitFor(() => unread.results.at(-1)!.data.unreadCountUpdated.total === 0, 5000, 'the count after reading');

        await h.admin().post('/v1/notifications', { userIds: [bob], type: 'system', title: 'Welcome', body: 'hi' });
        // The group_invite of being added comes too, whenever its dispatcher runs.
        await waitFor(() => inbox.results.some((r) => r.data.notificationAdded.type === 'system'), 5000, 'the notification');
        assert.deepEqual(inbox.results.find((r) => r.data.notificationAdded.type === 'system')!.data.notificationAdded, { title: 'Welcome', type: 'system', read: false });

        const anaSio = await socketClient(url, ana);
        await anaSio.send('presence:set', { status: 'away' });
        await waitFor(() => presence.results.some((r) => r.data.userOnlineStatusChanged.status === 'AWAY'), 5000, 'presence');
        assert.ok(presence.results.every((r) => r.data.userOnlineStatusChanged.userId === ana && r.data.userOnlineStatusChanged.isOnline));
        await anaSio.close();
        assert.equal(ownTyping.results.length, 0, 'the typer is not told of their own typing');
      } finally {
        await Promise.all([bobClient.dispose(), anaClient.dispose()]);
      }
    });
  });
}
