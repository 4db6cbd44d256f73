import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../src/storage/store.ts';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { counting, statements as count } from './helpers/counting-db.ts';
import { type Harness, harness, send, tokenFor, uid } from './helpers/harness.ts';

if (skippedPostgres) test('graphql statement counts on postgres', { skip: skippedPostgres }, () => {});

const QUERY = `query($n: Int!) { conversations(first: $n) { edges { node {
  id title unreadCount memberCount
  members { userId name role }
  lastMessage { id content seq sender { id name } reactions { emoji count } }
} } pageInfo { hasNextPage } } }`;

for (const backend of backends) {
  describe(`GraphQL statements on ${backend.name}`, () => {
    let store: Store;
    let h: Harness;
    before(async () => {
      store = await backend.openStore({ wrapDb: counting });
      h = await harness({ store });
    });
    after(async () => {
      await h.app.delivery.drain(); // the groups' invitations, before the database goes
      await h.close();
      await store.close();
    });

    test('conversations(first: 50) with members and last messages (and their senders) takes a bounded number of statements, the same as first: 5', async () => {
      const me = uid('me');
      for (let i = 0; i < 50; i++) {
        const others = [uid('a'), uid('b')];
        const id = await h.group(h.as(me), others, `g${i}`);
        await send(h.as(others[i % 2]!, { name: `Other ${i}` }), id, `last ${i}`);
      }
      const token = await tokenFor(me);
      const run = async (n: number) => {
        const statements: string[] = [];
        // Awaited inside run(): inject starts the request only when awaited.
        const res = await count.run(statements, async () =>
          await h.app.http.inject({ method: 'POST', url: '/graphql', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: { query: QUERY, variables: { n } } }),
        );
        const body = res.json();
        assert.equal(body.errors, undefined, JSON.stringify(body.errors));
        return { statements, edges: body.data.conversations.edges };
      };
      await run(1); // the token's first use records the user's profile
      const five = await run(5);
      const fifty = await run(50);
      assert.equal(five.edges.length, 5);
      assert.equal(fifty.edges.length, 50);
      assert.ok(fifty.edges.every((e: any) => e.node.members.length === 3 && e.node.lastMessage.sender.name?.startsWith('Other')));
      assert.equal(fifty.statements.length, five.statements.length, `first: 5 ran\n${five.statements.join('\n')}\nfirst: 50 ran\n${fifty.statements.join('\n')}`);
      assert.ok(fifty.statements.length <= 5, `${fifty.statements.length} statements:\n${fifty.statements.join('\n')}`);
      console.log(`conversations(first: 50) on ${backend.name}: ${fifty.statements.length} statements`);
    });
  });
}
