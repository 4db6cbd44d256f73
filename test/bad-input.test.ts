import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERRORS } from '../protocol/errors.ts';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { buildCorpus, type Case, type Fixture, ROUTES } from './helpers/bad-input-corpus.ts';
import { changedTables, fingerprint, type OwnedStore, openOwnedStore } from './helpers/fingerprint.ts';
import { type Client, type Harness, harness, type Reply, send } from './helpers/harness.ts';
import { responseChecker } from './helpers/openapi-contract.ts';
import { makeFixture } from './helpers/route-fixture.ts';

/**
 * "Bad input gets a clear error code and nothing is written; it never gets a 500 or a
 * crash" (DESIGN.md, Limits and bad input), checked for every REST route: each malformed
 * request must get a 4xx with `{ error: { code, message } }` from the catalogue, documented
 * for that operation and status in /openapi.json, and the database must be byte-for-byte
 * what it was (see fingerprint.ts).
 */

const GROUPS = [
  'wrong types',
  'missing fields',
  'empty strings',
  'too long',
  'huge strings',
  'field rules',
  'numbers',
  'NUL and lone surrogates',
  'invalid UTF-8',
  'JSON syntax and shape',
  'prototype keys',
  'content types',
  'path ids',
  'query strings',
  'acting user and credentials',
  // Last: a route that takes no body but obeyed one anyway would delete the fixture's
  // message and member, and no other group should depend on that.
  'unknown keys',
];

/** Routes registered only in some configurations, with bad-input tests of their own. */
const CONDITIONAL = new Set([
  'POST /v1/dev/login', // embedded development mode only: test/dev-login.test.ts
]);

/** Every route registered in routes/*.ts, read from the source so the table cannot fall behind it. */
function registeredRoutes(): string[] {
  const dir = path.resolve(import.meta.dirname, '../src/gateways/http/routes');
  const found: string[] = [];
  for (const file of fs.readdirSync(dir)) {
    const src = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of src.matchAll(/app\.(get|post|put|patch|delete)\b[^(]*\(\s*'([^']+)'/g)) found.push(`${m[1]!.toUpperCase()} ${m[2]}`);
  }
  return found.filter((r) => !CONDITIONAL.has(r)).sort();
}

const STACK = /\n\s+at\s|\bat\s+\S+\s+\(|node_modules|\.[cm]?[jt]s:\d+|\b[A-Z][A-Za-z]*Error:/;
const snippet = (body: unknown): string => {
  const s = typeof body === 'string' ? body : JSON.stringify(body);
  return s === undefined ? '(empty)' : s.length > 180 ? `${s.slice(0, 180)}...` : s;
};

/** What is wrong with the reply to a malformed request, or null when it is right. */
function problem(c: Case, res: Reply): string | null {
  if (res.status < 400 || res.status > 499) return `status ${res.status}`;
  const err = res.body?.error;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || typeof err.message !== 'string') {
    return `status ${res.status} but the body is not { error: { code, message } }`;
  }
  if (!Object.hasOwn(ERRORS, err.code)) return `code "${err.code}" is not in ERRORS`;
  const expected = ERRORS[err.code as keyof typeof ERRORS].status;
  if (expected !== res.status) return `code ${err.code} came with status ${res.status}, not ${expected}`;
  if (c.codes && !c.codes.includes(err.code)) return `code ${err.code}, expected ${c.codes.join(' or ')}`;
  if (STACK.test(JSON.stringify(res.body))) return 'the error echoes a stack trace or a source path';
  return null;
}

interface Env {
  h: Harness;
  /** What is wrong with a response according to /openapi.json, or null. */
  documented: ReturnType<typeof responseChecker>;
  owned: OwnedStore;
  owner: Client;
  admin: Client;
  fixture: Fixture;
}

/** Sends each case; returns one line per case that got a wrong answer or wrote anything. */
async function runCases(env: Env, cases: Case[]): Promise<string[]> {
  const failures: string[] = [];
  // Work the baselines queued (outbox rows) is drained first, so only the cases can change anything.
  await env.h.app.delivery.drain();
  let last = await fingerprint(env.owned.db);
  for (const c of cases) {
    const client = c.caller === 'admin' ? env.admin : env.owner;
    const res = await client.request(c.method, c.url, c.body, c.headers);
    const now = await fingerprint(env.owned.db);
    const changed = changedTables(last, now);
    last = now;
    const issues = [problem(c, res), env.documented(c.method, c.route, res.status, res.body), changed.length ? `wrote to ${changed.join(', ')}` : null].filter(Boolean);
    if (issues.length) failures.push(`${c.name}: ${issues.join('; ')} <- ${res.status} ${snippet(res.body)}`);
  }
  return failures;
}

const report = (failures: string[], total: number): string => `${failures.length} of ${total} cases failed:\n  ${failures.join('\n  ')}`;

if (skippedPostgres) test('bad input on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`bad input on ${backend.name}`, () => {
    let env: Env;
    let corpus: Case[];
    before(async () => {
      const owned = await openOwnedStore(backend);
      const h = await harness({ store: owned.store });
      const { owner, fixture } = await makeFixture(h);
      const documented = responseChecker((await owner.get('/openapi.json')).body);
      env = { h, owned, owner, admin: h.admin(), fixture, documented };
      corpus = buildCorpus(fixture);
    });
    after(async () => {
      await env.h.close();
      await env.owned.close();
    });

    test('the route table lists every route of routes/*.ts, once', () => {
      const table = ROUTES.map((r) => `${r.method} ${r.path}`).sort();
      assert.deepEqual(table, registeredRoutes());
    });

    test('the corpus is well formed: known groups, NUL and surrogates written as JSON escapes', () => {
      assert.deepEqual([...new Set(corpus.map((c) => c.group))].sort(), [...GROUPS].sort());
      for (const c of corpus.filter((x) => x.group === 'NUL and lone surrogates')) {
        assert.ok(typeof c.body === 'string');
        assert.match(c.body, /\\u0000|\\ud800|\\udfff/, c.name);
        assert.ok(!c.body!.includes('\u0000') && c.body!.isWellFormed(), `${c.name}: raw NUL or surrogate in the text`);
      }
    });

    test('every baseline request is accepted (2xx), so each case breaks exactly one thing', async () => {
      const failures: string[] = [];
      for (const route of ROUTES) {
        const { owner, fixture } = await makeFixture(env.h);
        const b = route.baseline(fixture);
        const url = route.path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(b.params?.[p] ?? '')) + (b.query ? `?${new URLSearchParams(b.query)}` : '');
        const client = route.caller === 'admin' ? env.h.admin() : owner;
        const res = await client.request(route.method, url, b.body);
        if (res.status < 200 || res.status > 299) failures.push(`${route.method} ${route.path}: ${res.status} ${snippet(res.body)}`);
      }
      assert.deepEqual(failures, []);
    });

    for (const group of GROUPS) {
      test(`malformed: ${group}`, async () => {
        const cases = corpus.filter((c) => c.group === group);
        const failures = await runCases(env, cases);
        assert.equal(failures.length, 0, report(failures, cases.length));
      });
    }

    test('a message body of exactly 10,000 astral code points (20,000 UTF-16 units) is accepted; 10,001 is not', async () => {
      const { owner, fixture } = env;
      const body = '😀'.repeat(10_000);
      assert.equal(body.length, 20_000);
      const sent = await owner.post(`/v1/conversations/${fixture.conversationId}/messages`, { clientMsgId: 'astral-10000', body });
      assert.equal(sent.status, 201, snippet(sent.body));
      assert.equal(sent.body.message.body, body);
      const id = sent.body.message.id;
      assert.equal((await owner.get(`/v1/messages/${id}`)).body.message.body, body);
      const edited = await owner.patch(`/v1/messages/${id}`, { body: `${'😀'.repeat(9_999)}é` });
      assert.equal(edited.status, 200, snippet(edited.body));
      const over = `${body}😀`;
      const cases: Case[] = [
        {
          group: 'limits',
          name: 'send of 10,001 astral code points',
          route: '/v1/conversations/:id/messages',
          caller: 'user',
          method: 'POST',
          url: `/v1/conversations/${fixture.conversationId}/messages`,
          body: JSON.stringify({ clientMsgId: 'astral-10001', body: over }),
          codes: ['validation_failed'],
        },
        { group: 'limits', name: 'edit to 10,001 astral code points', route: '/v1/messages/:id', caller: 'user', method: 'PATCH', url: `/v1/messages/${id}`, body: JSON.stringify({ body: over }), codes: ['validation_failed'] },
      ];
      const failures = await runCases(env, cases);
      assert.equal(failures.length, 0, report(failures, cases.length));
    });

    test('SQL fragments inside strings are plain data: stored and returned verbatim, nothing else touched', async () => {
      const { owner, fixture, owned } = env;
      const sql = ["'; DROP TABLE messages; --", "1' OR '1'='1", 'Robert"); DELETE FROM users; --', '$1 $2 \\x00 %s %n :name', "\\'; SELECT pg_sleep(10); --"];
      const before = await fingerprint(owned.db);
      const created = await owner.post('/v1/conversations', { kind: 'group', members: [fixture.member], title: sql[0], metadata: { [sql[1]!]: sql[2], all: sql } });
      assert.equal(created.status, 201, snippet(created.body));
      const id = created.body.conversation.id;
      assert.equal(created.body.conversation.title, sql[0]);
      assert.deepEqual(created.body.conversation.metadata, { [sql[1]!]: sql[2], all: sql });
      const sent = [];
      for (const s of sql) sent.push(await send(owner, id, s));
      const history = await owner.get(`/v1/conversations/${id}/messages`);
      assert.deepEqual(history.body.messages.map((m: { body: string }) => m.body).sort(), [...sql].sort());
      const emoji = "';--";
      const reacted = await owner.post(`/v1/messages/${sent[0].id}/reactions`, { emoji });
      assert.equal(reacted.status, 200, snippet(reacted.body));
      assert.deepEqual(reacted.body.message.reactions.map((r: { emoji: string }) => r.emoji), [emoji]);
      assert.equal((await owner.delete(`/v1/messages/${sent[0].id}/reactions/${encodeURIComponent(emoji)}`)).body.message.reactions.length, 0);
      assert.equal((await owner.patch(`/v1/conversations/${id}`, { title: sql[4] })).body.conversation.title, sql[4]);
      const user = await env.h.admin().put(`/v1/users/${fixture.target}`, { name: sql[1], metadata: { [sql[0]!]: sql[3] } });
      assert.equal(user.status, 200, snippet(user.body));
      assert.equal(user.body.user.name, sql[1]);
      assert.equal((await env.h.store.users.get(fixture.target))?.metadata[sql[0]!], sql[3]);
      const after = await fingerprint(owned.db);
      assert.deepEqual(Object.keys(after), Object.keys(before), 'no table appeared or disappeared');
      for (const table of Object.keys(before)) assert.ok(Number.parseInt(after[table]!, 10) >= Number.parseInt(before[table]!, 10), `${table} lost rows`);
    });

    test('after the whole corpus the server still answers, and a valid send still works', async () => {
      const { owner, fixture } = env;
      const health = await owner.get('/health');
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      assert.equal((await owner.get('/ready')).status, 200);
      const lastSeq = (await owner.get(`/v1/conversations/${fixture.conversationId}`)).body.conversation.lastSeq;
      const message = await send(owner, fixture.conversationId, 'still here');
      assert.equal(message.seq, lastSeq + 1);
      assert.equal((await owner.get(`/v1/messages/${message.id}`)).body.message.body, 'still here');
    });
  });
}
