import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getNamedType, type GraphQLField, isNonNullType, isObjectType } from 'graphql';
import { buildGraphqlSchema } from '../src/gateways/graphql/schema.ts';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { codeOf, gql, post } from './helpers/graphql.ts';
import { API_KEY, type Harness, harness, send, tokenFor, uid } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';

if (skippedPostgres) test('graphql over http on postgres', { skip: skippedPostgres }, () => {});

/** Loopify's operations, exactly as its clients call them (seeds/001). */
const LOOPIFY = {
  Query: [
    'conversations(first: Int!, after: String): ConversationConnection!',
    'conversationMessages(conversationId: ID!, first: Int!, after: String): MessageConnection!',
    'unreadMessageCount: Int!',
    'usersOnlineStatus(userIds: [ID!]!): [OnlineStatus!]!',
  ],
  Mutation: [
    'startConversation(input: StartConversationInput!): Conversation!',
    'sendMessage(input: SendMessageInput!): Message!',
    'markConversationAsRead(conversationId: ID!): GenericResponse!',
    'editMessage(messageId: ID!, content: String!): Message',
    'deleteMessage(messageId: ID!): GenericResponse!',
  ],
  Subscription: [
    'messageAdded(conversationId: ID!): Message!',
    'typingIndicators(conversationId: ID!): TypingIndicator!',
    'userOnlineStatusChanged(userIds: [ID!]!): OnlineStatus!',
    'unreadCountUpdated: UnreadCount!',
  ],
};

const signature = (f: GraphQLField<unknown, unknown>, argNames: string[]) =>
  `${f.name}${argNames.length ? `(${argNames.map((n) => `${n}: ${f.args.find((a) => a.name === n)?.type}`).join(', ')})` : ''}: ${f.type}`;

test('Loopify\'s operations are served under their exact names, arguments and types; anything Parley adds is optional', () => {
  const schema = buildGraphqlSchema();
  for (const [typeName, ops] of Object.entries(LOOPIFY)) {
    const type = schema.getType(typeName);
    assert.ok(isObjectType(type));
    for (const op of ops) {
      const name = op.split(/[(:]/)[0]!;
      const field: GraphQLField<unknown, unknown> | undefined = type.getFields()[name];
      assert.ok(field, `${typeName}.${name} is missing`);
      const argNames = [...op.matchAll(/(\w+): /g)].map((m) => m[1]!).filter((n) => n !== name);
      assert.equal(signature(field, argNames), op);
      for (const extra of field.args.filter((a) => !argNames.includes(a.name))) {
        assert.ok(!isNonNullType(extra.type) || extra.defaultValue !== undefined, `${typeName}.${name}(${extra.name}) must be optional`);
      }
    }
  }
  assert.equal(getNamedType(schema.getQueryType()!.getFields().me!.type).name, 'User');
});

for (const backend of backends) {
  describe(`GraphQL over HTTP on ${backend.name}`, () => {
    let h: Harness;
    let url: string;
    before(async () => {
      h = await harness(backend);
      url = await listen(h);
    });
    after(() => h.close());

    test('the SDL is served at /graphql/schema.graphql, without credentials, and is the one checked into docs/', async () => {
      const res = await fetch(`${url}/graphql/schema.graphql`);
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('content-type')), /^text\/plain/);
      const docs = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/schema.graphql'), 'utf8');
      assert.ok((await res.text()) === docs, 'docs/schema.graphql differs from the schema served: run npm run graphql:schema');
    });

    test('Loopify\'s flow: start a conversation, send, page conversations and messages, read, edit, delete', async () => {
      const ana = uid('ana');
      const bob = uid('bob');
      const started = await gql(url, ana, 'mutation($i: StartConversationInput!) { startConversation(input: $i) { id kind members { userId role } } }', {
        i: { participantIds: [bob] },
      });
      const conv = started.startConversation;
      assert.equal(conv.kind, 'DIRECT');
      assert.deepEqual(conv.members.map((m: any) => m.userId).sort(), [ana, bob].sort());
      const again = await gql(url, bob, 'mutation($i: StartConversationInput!) { startConversation(input: $i) { id } }', { i: { participantIds: [ana] } });
      assert.equal(again.startConversation.id, conv.id, 'a direct conversation is one per pair');

      const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq content body clientMsgId senderId sender { id } } }';
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const sent = (await gql(url, ana, SEND, { i: { conversationId: conv.id, clientMsgId: `c-${i}`, content: `m${i}` } })).sendMessage;
        assert.equal(sent.seq, i + 1);
        assert.equal(sent.content, `m${i}`);
        assert.equal(sent.sender.id, ana);
        ids.push(sent.id);
      }
      // The same clientMsgId, even with another body, answers the original and creates nothing.
      const retry = (await gql(url, ana, SEND, { i: { conversationId: conv.id, clientMsgId: 'c-0', content: 'changed' } })).sendMessage;
      assert.deepEqual([retry.id, retry.seq, retry.content], [ids[0], 1, 'm0']);

      const PAGE = 'query($c: ID!, $after: String) { conversationMessages(conversationId: $c, first: 2, after: $after) { edges { cursor node { id seq } } pageInfo { hasNextPage endCursor } } }';
      const seen: number[] = [];
      let cursor: string | null = null;
      for (;;) {
        const page: any = (await gql(url, bob, PAGE, { c: conv.id, after: cursor })).conversationMessages;
        seen.push(...page.edges.map((e: any) => e.node.seq));
        if (!page.pageInfo.hasNextPage) break;
        cursor = page.pageInfo.endCursor;
      }
      assert.deepEqual(seen, [5, 4, 3, 2, 1], 'newest first, after pages back');

      assert.equal((await gql(url, bob, '{ unreadMessageCount }')).unreadMessageCount, 5);
      assert.deepEqual((await gql(url, bob, 'mutation($c: ID!) { markConversationAsRead(conversationId: $c) { success } }', { c: conv.id })).markConversationAsRead, { success: true });
      assert.equal((await gql(url, bob, '{ unreadMessageCount }')).unreadMessageCount, 0);

      const edited = (await gql(url, ana, 'mutation($m: ID!) { editMessage(messageId: $m, content: "fixed") { content editedAt } }', { m: ids[1] })).editMessage;
      assert.equal(edited.content, 'fixed');
      assert.ok(edited.editedAt);
      assert.deepEqual((await gql(url, ana, 'mutation($m: ID!) { deleteMessage(messageId: $m) { success } }', { m: ids[2] })).deleteMessage, { success: true });
      const rest = (await h.as(bob).get(`/v1/conversations/${conv.id}/messages`)).body.messages;
      assert.equal(rest.find((m: any) => m.id === ids[1]).body, 'fixed');
      assert.ok(rest.find((m: any) => m.id === ids[2]).deletedAt);
    });

    test('conversations(first, after) pages most recently active first, with members and last message', async () => {
      const me = uid('me');
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await h.group(h.as(me), [uid('x')], `g${i}`);
        await send(h.as(me), id, `last of ${i}`);
        made.push(id);
      }
      const Q = 'query($after: String) { conversations(first: 2, after: $after) { edges { node { id title memberCount lastMessage { content } role } } pageInfo { hasNextPage endCursor } } }';
      const first = (await gql(url, me, Q)).conversations;
      assert.deepEqual(first.edges.map((e: any) => e.node.id), [made[2], made[1]]);
      assert.equal(first.edges[0].node.lastMessage.content, 'last of 2');
      assert.equal(first.edges[0].node.role, 'OWNER');
      assert.equal(first.pageInfo.hasNextPage, true);
      const second = (await gql(url, me, Q, { after: first.pageInfo.endCursor })).conversations;
      assert.deepEqual(second.edges.map((e: any) => e.node.id), [made[0]]);
    });

    test('Parley\'s own: me, conversation, message fields, reactions, markers, members and roles', async () => {
      const ana = uid('ana');
      const bob = uid('bob');
      const cat = uid('cat');
      const id = await h.group(h.as(ana), [bob], 'Team');
      const parent = await send(h.as(bob), id, 'parent');
      const M = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq replyTo mentions attachments { url name size } } }`;
      const reply = (await gql(url, ana, M, { i: { conversationId: id, clientMsgId: randomUUID(), content: 'hi @bob', replyTo: parent.id, mentions: [bob], attachments: [{ url: 'https://x.example/a.png', name: 'a', size: 12 }] } })).sendMessage;
      assert.equal(reply.replyTo, parent.id);
      assert.deepEqual(reply.mentions, [bob]);
      assert.deepEqual(reply.attachments, [{ url: 'https://x.example/a.png', name: 'a', size: 12 }]);

      const reacted = (await gql(url, bob, 'mutation($m: ID!) { addReaction(messageId: $m, emoji: "👍") { reactions { emoji count userIds } } }', { m: reply.id })).addReaction;
      assert.deepEqual(reacted.reactions, [{ emoji: '👍', count: 1, userIds: [bob] }]);
      const delivered = (await gql(url, bob, 'mutation($c: ID!, $s: Int) { markDelivered(conversationId: $c, seq: $s) { deliveredSeq readSeq } }', { c: id, s: reply.seq })).markDelivered;
      assert.deepEqual(delivered, { deliveredSeq: reply.seq, readSeq: parent.seq }, 'sending read what came before');
      const one = (await gql(url, ana, 'query($id: ID!) { message(id: $id) { status replyCount reactions { emoji } } }', { id: reply.id })).message;
      assert.deepEqual(one, { status: 'DELIVERED', replyCount: 0, reactions: [{ emoji: '👍' }] });
      assert.equal((await gql(url, ana, 'query($id: ID!) { message(id: $id) { replyCount } }', { id: parent.id })).message.replyCount, 1);
      const removed = (await gql(url, bob, 'mutation($m: ID!) { removeReaction(messageId: $m, emoji: "👍") { reactions { emoji } } }', { m: reply.id })).removeReaction;
      assert.deepEqual(removed.reactions, []);

      assert.deepEqual((await gql(url, ana, '{ me { id } }')).me, { id: ana });
      const added = (await gql(url, ana, 'mutation($c: ID!, $u: [ID!]!) { addMembers(conversationId: $c, userIds: $u, role: ADMIN) { userId role } }', { c: id, u: [cat] })).addMembers;
      assert.deepEqual(added, [{ userId: cat, role: 'ADMIN' }]);
      assert.equal((await gql(url, ana, 'mutation($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: MEMBER) { role } }', { c: id, u: cat })).setMemberRole.role, 'MEMBER');
      const renamed = (await gql(url, ana, 'mutation($c: ID!) { updateConversation(id: $c, input: { title: "Crew", metadata: { a: null } }) { title metadata } }', { c: id })).updateConversation;
      assert.deepEqual(renamed, { title: 'Crew', metadata: { a: null } });
      await gql(url, ana, 'mutation($c: ID!, $u: ID!) { removeMember(conversationId: $c, userId: $u) { success } }', { c: id, u: cat });
      const conv = (await gql(url, bob, 'query($c: ID!) { conversation(id: $c) { title memberCount members { userId role } } }', { c: id })).conversation;
      assert.deepEqual(conv, { title: 'Crew', memberCount: 2, members: [{ userId: ana, role: 'OWNER' }, { userId: bob, role: 'MEMBER' }] });
      // Every member a page at a time, in join order, with the whole count on each page.
      const MEMBERS = 'query($c: ID!, $after: String) { conversationMembers(conversationId: $c, first: 1, after: $after) { edges { cursor node { userId role } } pageInfo { hasNextPage endCursor } totalCount } }';
      const p1 = (await gql(url, bob, MEMBERS, { c: id })).conversationMembers;
      assert.deepEqual([p1.edges.map((e: any) => e.node), p1.pageInfo.hasNextPage, p1.totalCount], [[{ userId: ana, role: 'OWNER' }], true, 2]);
      const p2 = (await gql(url, bob, MEMBERS, { c: id, after: p1.pageInfo.endCursor })).conversationMembers;
      assert.deepEqual([p2.edges.map((e: any) => e.node), p2.pageInfo.hasNextPage, p2.totalCount], [[{ userId: bob, role: 'MEMBER' }], false, 2]);
      const outsider = await post(url, await tokenFor(cat), MEMBERS, { c: id });
      assert.deepEqual([outsider.body.data, codeOf(outsider)], [null, 'not_found']);
      assert.equal(codeOf(await post(url, await tokenFor(bob), MEMBERS, { c: id, after: 'nope' })), 'validation_failed');
      const forbidden = await post(url, await tokenFor(bob), 'mutation($c: ID!, $u: ID!) { setMemberRole(conversationId: $c, userId: $u, role: ADMIN) { role } }', { c: id, u: ana });
      assert.equal(codeOf(forbidden), 'forbidden');
    });

    test('the notification inbox: query, read one, read all', async () => {
      const me = uid('me');
      const sent = await h.admin().post('/v1/notifications', { userIds: [me], type: 'system', title: 'Hello', body: 'one' });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      await h.admin().post('/v1/notifications', { userIds: [me], type: 'system', title: 'Hello', body: 'two' });
      const inbox = (await gql(url, me, '{ notifications(first: 10) { edges { node { id body read type priority } } } notificationUnreadCount }'));
      assert.deepEqual(inbox.notifications.edges.map((e: any) => [e.node.body, e.node.read, e.node.type]), [['two', false, 'system'], ['one', false, 'system']]);
      assert.equal(inbox.notificationUnreadCount, 2);
      const read = (await gql(url, me, 'mutation($id: ID!) { markNotificationRead(id: $id) { read } }', { id: inbox.notifications.edges[0].node.id })).markNotificationRead;
      assert.equal(read.read, true);
      assert.deepEqual((await gql(url, me, 'mutation { markAllNotificationsRead { updated unreadCount } }')).markAllNotificationsRead, { updated: 1, unreadCount: 0 });
    });

    test('errors carry the catalogue code: not a member, bad ids, someone else\'s message, credentials', async () => {
      const ana = uid('ana');
      const bob = uid('bob');
      const eve = uid('eve');
      const id = await h.group(h.as(ana), [bob]);
      const m = await send(h.as(ana), id, 'mine');
      const eveToken = await tokenFor(eve);
      const foreign = await post(url, eveToken, 'query($c: ID!) { conversation(id: $c) { id } }', { c: id });
      assert.equal(foreign.status, 200);
      assert.deepEqual([foreign.body.data.conversation, codeOf(foreign)], [null, 'not_found']);
      const foreignSend = await post(url, eveToken, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', { i: { conversationId: id, clientMsgId: 'x', content: 'hi' } });
      assert.deepEqual([foreignSend.body.data, codeOf(foreignSend)], [null, 'not_found']);
      assert.equal(codeOf(await post(url, eveToken, 'query { conversation(id: "not-a-uuid") { id } }')), 'validation_failed');
      const EDIT = 'mutation($m: ID!) { editMessage(messageId: $m, content: "x") { id } }';
      assert.equal(codeOf(await post(url, await tokenFor(bob), EDIT, { m: m.id })), 'forbidden', 'only the sender edits');
      assert.equal(codeOf(await post(url, eveToken, EDIT, { m: m.id })), 'not_found');

      const none = await post(url, null, '{ me { id } }');
      assert.deepEqual([none.status, codeOf(none)], [401, 'auth_required']);
      const expired = await post(url, await tokenFor(ana, {}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), '{ me { id } }');
      assert.deepEqual([expired.status, codeOf(expired)], [401, 'token_expired']);
      const adminOnly = await post(url, API_KEY, '{ me { id } }');
      assert.deepEqual([adminOnly.status, codeOf(adminOnly)], [400, 'acting_user_required']);
      const acting = await post(url, API_KEY, '{ me { id } }', undefined, { 'x-parley-user': ana });
      assert.deepEqual(acting.body.data, { me: { id: ana } });
    });

    test('GraphQL shares the rate limit of REST and realtime; a refused write writes nothing, reads go on', async () => {
      const limited = await harness({ store: h.store }, { PARLEY_RATE_LIMIT: '3/60s' });
      const lurl = await listen(limited);
      try {
        const ana = uid('ana');
        const id = await limited.group(limited.as(uid('own')), [ana]);
        await send(limited.as(ana), id, 'rest 1');
        await send(limited.as(ana), id, 'rest 2');
        const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }';
        assert.equal((await gql(lurl, ana, SEND, { i: { conversationId: id, clientMsgId: 'g1', content: 'graphql 1' } })).sendMessage.seq, 3);
        const refused = await post(lurl, await tokenFor(ana), SEND, { i: { conversationId: id, clientMsgId: 'g2', content: 'graphql 2' } });
        assert.equal(codeOf(refused), 'rate_limited');
        assert.ok((refused.body.errors![0]!.extensions!.retryAfter as number) >= 1);
        assert.equal((await gql(lurl, ana, 'query($c: ID!) { conversation(id: $c) { lastSeq } }', { c: id })).conversation.lastSeq, 3);
        // Writes that are no realtime command spend from the same budget, as their REST routes do.
        const start = await post(lurl, await tokenFor(ana), 'mutation { startConversation(input: { participantIds: ["x1", "x2"], title: "t" }) { id } }');
        assert.equal(codeOf(start), 'rate_limited');
        assert.equal((await limited.as(ana).get('/v1/conversations')).body.conversations.length, 1);
      } finally {
        await limited.close();
      }
    });
  });
}
