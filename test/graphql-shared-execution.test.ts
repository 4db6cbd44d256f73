import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GraphqlContext, viewerFreeContext } from '../src/gateways/graphql/context.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { gqlWs, record } from './helpers/graphql.ts';
import { type Harness, harness, send, uid } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';

/**
 * A live message is executed once per subscription document and variables for all its
 * subscribers on the instance, not once each (issue 9): the members of a group running the
 * same subscription get one result between them, and other documents get their own.
 */
const WITH_SENDER = 'subscription($c: ID!, $since: Int) { messageAdded(conversationId: $c, since: $since) { id content changeSeq sender { id name } } }';
const IDS_ONLY = 'subscription($c: ID!, $since: Int) { messageAdded(conversationId: $c, since: $since) { id seq } }';

describe('GraphQL live events, executed once for their subscribers', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend);
    url = await listen(h);
  });
  after(() => h.close());

  test('subscribers of one document share its execution; another document gets its own answer', async () => {
    const [ana, eve, bob, cy, dan] = ['ana', 'eve', 'bob', 'cy', 'dan'].map(uid);
    const id = await h.group(h.as(ana!), [eve!, bob!, cy!, dan!]);
    const clients = await Promise.all([bob!, cy!, dan!].map((u) => gqlWs(url, u)));
    try {
      const [bobSub, cySub, danSub] = [
        record(clients[0]!, WITH_SENDER, { c: id, since: 0 }),
        record(clients[1]!, WITH_SENDER, { c: id, since: 0 }),
        record(clients[2]!, IDS_ONLY, { c: id, since: 0 }),
      ];
      // From the log or live, each has it: all three follow the conversation live now.
      const warmUp = await send(h.as(ana!), id, 'warm-up');
      for (const sub of [bobSub, cySub, danSub]) await sub.count(1);
      const lookups: string[][] = [];
      const { users } = h.app.services;
      const profiles = users.profiles.bind(users);
      users.profiles = (ids) => {
        lookups.push([...ids]);
        return profiles(ids);
      };

      // From a sender none of their profile loaders has seen.
      const message = await send(h.as(eve!), id, 'one execution');
      for (const sub of [bobSub, cySub, danSub]) await sub.count(2);
      const expected = { messageAdded: { id: message.id, content: 'one execution', changeSeq: message.seq, sender: { id: eve, name: null } } };
      assert.deepEqual(bobSub.results[1], { data: expected });
      assert.deepEqual(cySub.results[1], { data: expected });
      assert.deepEqual(danSub.results[1], { data: { messageAdded: { id: message.id, seq: message.seq } } });
      assert.deepEqual(lookups, [[eve]], "one profile lookup for the sender: bob's and cy's subscriptions shared one execution");
      assert.notEqual(warmUp.id, message.id);
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });

  test('a shared execution reads only public profiles from the context: the viewer throws', () => {
    const user = async (id: string) => ({ id, name: null, picture: null });
    const ctx = { actor: { userId: 'ana' }, user } as unknown as GraphqlContext;
    const shared = viewerFreeContext(ctx);
    assert.equal(shared.user, user);
    assert.throws(() => shared.actor, /cannot read the context's actor/);
    assert.throws(() => shared.services, /cannot read the context's services/);
  });
});
