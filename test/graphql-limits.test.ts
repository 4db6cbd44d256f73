import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { changedTables, fingerprint, type OwnedStore, openOwnedStore } from './helpers/fingerprint.ts';
import { codeOf, gql, gqlWs, post, record } from './helpers/graphql.ts';
import { type Harness, harness, send, tokenFor, uid } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';

if (skippedPostgres) test('graphql limits on postgres', { skip: skippedPostgres }, () => {});

const STACK = /\n\s+at\s|node_modules|\.[cm]?[jt]s:\d+/;
const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }';

/** `n` aliases of one cheap field. */
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;

for (const backend of backends) {
  describe(`GraphQL bad input and limits on ${backend.name}`, () => {
    let owned: OwnedStore;
    let h: Harness;
    let url: string;
    let conv: string;
    let ana: string;
    before(async () => {
      owned = await openOwnedStore(backend);
      h = await harness({ store: owned.store });
      url = await listen(h);
      ana = uid('ana');
      conv = await h.group(h.as(ana), [uid('bob')]);
      await send(h.as(ana), conv, 'there');
      // The group's invitation and the message's notification work, done now rather than during a fingerprint.
      await h.app.delivery.drain();
    });
    after(async () => {
      await h.close();
      await owned.close();
    });

    /** Each case: what is sent (a document and variables, or a raw body), and the status and code it must get. */
    const cases = (): { name: string; status: number; code: string; query?: string; variables?: Record<string, unknown>; raw?: string; says?: RegExp }[] => [
      { name: 'a malformed query', status: 400, code: 'graphql_parse_failed', query: '{ me { id ' },
      { name: 'an unknown field', status: 400, code: 'graphql_validation_failed', query: '{ me { id password } }' },
      { name: 'an unknown argument', status: 400, code: 'graphql_validation_failed', query: '{ conversations(first: 1, sort: "x") { pageInfo { hasNextPage } } }' },
      { name: 'a wrong variable type', status: 400, code: 'validation_failed', query: SEND, variables: { i: { conversationId: conv, clientMsgId: 'x', content: 5 } } },
      { name: 'a missing variable', status: 400, code: 'validation_failed', query: SEND },
      { name: 'an unknown input field', status: 400, code: 'validation_failed', query: SEND, variables: { i: { conversationId: conv, clientMsgId: 'x', content: 'hi', admin: true } } },
      { name: 'a body over 10,000 code points', status: 200, code: 'validation_failed', query: SEND, variables: { i: { conversationId: conv, clientMsgId: 'x', content: 'x'.repeat(10_001) } } },
      { name: 'a NUL in a string literal', status: 200, code: 'invalid_text', query: `mutation { sendMessage(input: { conversationId: "${conv}", clientMsgId: "n", content: "a\\u0000b" }) { id } }` },
      { name: 'a bad id', status: 200, code: 'validation_failed', query: '{ conversation(id: "1; DROP TABLE messages") { id } }' },
      { name: 'a first out of range', status: 200, code: 'validation_failed', query: '{ conversations(first: 100000) { pageInfo { hasNextPage } } }' },
      { name: 'a cursor this server never issued', status: 200, code: 'validation_failed', query: `{ conversationMessages(conversationId: "${conv}", first: 5, after: "bm9wZQ") { pageInfo { hasNextPage } } }` },
      { name: 'too deep', status: 400, code: 'query_too_deep', query: `{ ${'a { '.repeat(15)}b${' }'.repeat(15)} }` },
      { name: 'brackets nested past 64', status: 400, code: 'query_too_deep', query: `{ ${'a('.repeat(70)}${')'.repeat(70)} }` },
      {
        name: 'too costly',
        status: 400,
        code: 'query_too_costly',
        query: `{ ${Array.from({ length: 6 }, (_, i) => `c${i}: conversations(first: 100) { edges { node { members { userId } } } }`).join(' ')} }`,
      },
      { name: 'an introspection nesting lists', status: 400, code: 'query_too_costly', query: '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }' },
      { name: '10,000 aliases', status: 400, code: 'query_too_large', query: aliases(10_000), says: /characters/ },
      { name: '51 aliases', status: 400, code: 'query_too_large', query: `{ me { ${Array.from({ length: 51 }, (_, i) => `a${i}: id`).join(' ')} } }`, says: /51 aliases/ },
      { name: '501 fields', status: 400, code: 'query_too_large', query: `{ me { ${'id '.repeat(501)}} }`, says: /502 fields; at most 500/ },
      { name: '21 root fields', status: 400, code: 'query_too_large', query: aliases(21) },
      { name: '11 operations', status: 400, code: 'query_too_large', query: Array.from({ length: 11 }, (_, i) => `query q${i} { me { id } }`).join('\n') },
      { name: 'several operations and no operationName', status: 400, code: 'graphql_validation_failed', query: 'query a { me { id } } query b { me { id } }' },
      { name: 'a subscription over HTTP', status: 400, code: 'graphql_validation_failed', query: 'subscription { unreadCountUpdated { total } }' },
      { name: 'a 1 MB query', status: 413, code: 'payload_too_large', query: `{ me { id } } # ${'x'.repeat(1024 * 1024)}` },
      { name: 'a batch (an array body)', status: 400, code: 'validation_failed', raw: '[{"query":"{ me { id } }"}]' },
      { name: 'no query', status: 400, code: 'validation_failed', raw: '{"variables":{}}' },
      { name: 'a __proto__ key in variables', status: 400, code: 'forbidden_key', raw: '{"query":"{ me { id } }","variables":{"__proto__":{"admin":true}}}' },
      { name: 'JSON that is not', status: 400, code: 'invalid_json', raw: '{"query": ' },
    ];

    test('every bad request gets its code, writes nothing, leaks no stack, and the server answers the next one', async () => {
      const token = await tokenFor(ana);
      const before = await fingerprint(owned.db);
      for (const c of cases()) {
        const res = c.raw
          ? await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: c.raw }).then(async (r) => ({
              status: r.status,
              body: JSON.parse(await r.text()),
            }))
          : await post(url, token, c.query!, c.variables);
        assert.equal(res.status, c.status, `${c.name}: ${JSON.stringify(res.body).slice(0, 300)}`);
        assert.equal(codeOf(res), c.code, `${c.name}: ${JSON.stringify(res.body).slice(0, 300)}`);
        if (c.says) assert.match(res.body.errors![0]!.message, c.says, c.name);
        assert.ok(!STACK.test(JSON.stringify(res.body)), `${c.name} leaks a stack`);
        assert.equal(Object.values(res.body.data ?? {}).filter((v) => v !== null).length, 0, `${c.name} answered data`);
      }
      assert.deepEqual(changedTables(before, await fingerprint(owned.db)), []);
      assert.equal((await gql(url, ana, '{ me { id } }')).me.id, ana);
    });

    test('over the WebSocket the same documents get the same codes, and the socket goes on', async () => {
      const client = await gqlWs(url, ana);
      const before = await fingerprint(owned.db);
      try {
        // Frames stop at 64 KiB (a larger one closes the socket with 1009), so the big documents are HTTP's alone.
        for (const c of cases().filter((c) => c.query && c.query.length < 60_000 && !c.query.startsWith('subscription'))) {
          const r = record(client, c.query!, c.variables);
          const { error } = await r.ended();
          const code = error ? (error as any[])[0].extensions.code : r.results[0]?.errors?.[0]?.extensions?.code;
          assert.equal(code, c.code, c.name);
        }
        const me = record(client, '{ me { id } }');
        await me.count(1);
      } finally {
        await client.dispose();
      }
      assert.deepEqual(changedTables(before, await fingerprint(owned.db)), []);
    });

    test('the standard introspection query passes the limits; switched off, introspection is refused', async () => {
      const data = await gql(url, ana, getIntrospectionQuery());
      assert.ok(data.__schema.types.some((t: { name: string }) => t.name === 'Message'));
      const off = await harness({ store: owned.store }, { PARLEY_GRAPHQL_INTROSPECTION: 'off' });
      const offUrl = await listen(off);
      try {
        const refused = await post(offUrl, await tokenFor(ana), getIntrospectionQuery());
        assert.deepEqual([refused.status, codeOf(refused)], [400, 'graphql_validation_failed']);
        assert.equal((await gql(offUrl, ana, '{ me { __typename id } }')).me.__typename, 'User');
      } finally {
        await off.close();
      }
    });

    test('PARLEY_GRAPHQL_MAX_DEPTH and PARLEY_GRAPHQL_MAX_COST bound valid operations too', async () => {
      const tight = await harness({ store: owned.store }, { PARLEY_GRAPHQL_MAX_DEPTH: '4', PARLEY_GRAPHQL_MAX_COST: '100' });
      const tightUrl = await listen(tight);
      try {
        const token = await tokenFor(ana);
        const deep = await post(tightUrl, token, '{ conversations(first: 1) { edges { node { lastMessage { sender { id } } } } } }');
        assert.deepEqual([deep.status, codeOf(deep)], [400, 'query_too_deep']);
        const costly = await post(tightUrl, token, '{ conversations(first: 60) { edges { node { id } } } }');
        assert.deepEqual([costly.status, codeOf(costly)], [400, 'query_too_costly']);
        assert.equal((await gql(tightUrl, ana, '{ conversations(first: 40) { edges { node { id } } } }')).conversations.edges.length, 1);
      } finally {
        await tight.close();
      }
    });

    test('a valid send over GraphQL still writes (the fingerprint sees writes)', async () => {
      const before = await fingerprint(owned.db);
      await gql(url, ana, SEND, { i: { conversationId: conv, clientMsgId: randomUUID(), content: 'written' } });
      assert.ok(changedTables(before, await fingerprint(owned.db)).includes('messages'));
    });
  });
}
