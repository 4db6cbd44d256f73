import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { pgliteBackend } from './helpers/backends.ts';
import { ROUTES } from './helpers/bad-input-routes.ts';
import { type Harness, harness } from './helpers/harness.ts';
import { openApiPath, responseChecker } from './helpers/openapi-contract.ts';
import { makeFixture } from './helpers/route-fixture.ts';

/**
 * /openapi.json is the REST contract, checked by machines: a valid OpenAPI document (by a
 * real validator), every operation with an operationId, security and all its responses, and
 * the real responses of every route matching it, with nothing the serializer dropped.
 */
type Json = Record<string, any>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI contract', () => {
  let h: Harness;
  let doc: Json;
  /** What each handler returned, and what went on the wire, per request. */
  const sent = new Map<string, unknown>();
  const altered: string[] = [];

  before(async () => {
    h = await harness(pgliteBackend, {}, {}, (app) => {
      app.http.addHook('preSerialization', async (req, _reply, payload) => {
        sent.set(req.id, JSON.parse(JSON.stringify(payload)));
        return payload;
      });
      app.http.addHook('onSend', async (req, reply, payload) => {
        if (!sent.has(req.id) || typeof payload !== 'string') return payload;
        let wire: unknown;
        try {
          wire = JSON.parse(payload);
        } catch {
          wire = payload;
        }
        try {
          assert.deepEqual(wire, sent.get(req.id));
        } catch {
          altered.push(`${req.method} ${req.routeOptions.url} ${reply.statusCode}: the serializer changed the body\n    sent ${JSON.stringify(sent.get(req.id)).slice(0, 300)}\n    wire ${payload.slice(0, 300)}`);
        }
        return payload;
      });
    });
    doc = (await h.as('reader').get('/openapi.json')).body;
  });
  after(() => h.close());

  const operations = (): [string, string, Json][] =>
    Object.entries(doc.paths as Json).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m): [string, string, Json] => [path, m, item[m]]));

  test('is a valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator)', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.equal(validator.version, '3.1');
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
  });

  test('documents every REST route, and only those', () => {
    const documented = operations().map(([path, m]) => `${m.toUpperCase()} ${path}`).sort();
    const routes = [...ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`), 'GET /health', 'GET /ready', 'GET /metrics'].sort();
    assert.deepEqual(documented, routes);
  });

  test('every operation: a unique operationId, a summary, a tag, a success and every error with the envelope', () => {
    const ids = new Set<string>();
    for (const [path, method, op] of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${where}: operationId`);
      assert.ok(!ids.has(op.operationId), `${where}: operationId ${op.operationId} is used twice`);
      ids.add(op.operationId);
      assert.ok(op.summary, `${where}: summary`);
      assert.ok(op.tags?.length, `${where}: tags`);
      const statuses = Object.keys(op.responses);
      const ok = statuses.filter((s) => s.startsWith('2'));
      assert.ok(ok.length, `${where}: no success response`);
      for (const s of ok) {
        const content = op.responses[s].content;
        if (s === '204') assert.equal(content, undefined, `${where}: 204 has no body`);
        else assert.ok(content?.['application/json']?.schema ?? content?.['text/plain']?.schema, `${where}: ${s} has no schema`);
      }
      for (const s of ['400', '500', '503']) assert.ok(statuses.includes(s), `${where}: ${s} undocumented`);
      for (const s of statuses.filter((x) => x >= '400')) {
        assert.equal(op.responses[s].content?.['application/json']?.schema?.$ref, '#/components/schemas/Error', `${where}: ${s} is not the error envelope`);
        assert.ok(op.responses[s].description && op.responses[s].description !== 'Default Response', `${where}: ${s} has no description`);
      }
      // /ready's 503 is not_ready, a probe's answer rather than a retry hint.
      for (const s of ['429', '503']) if (op.responses[s] && path !== '/ready') assert.ok(op.responses[s].headers?.['retry-after'], `${where}: ${s} without Retry-After`);
    }
  });

  test('security: a bearer JWT and an API key; user routes take either, admin routes the key, operations neither', () => {
    const schemes = doc.components.securitySchemes;
    assert.deepEqual(schemes.bearerAuth, { ...schemes.bearerAuth, type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    assert.equal(schemes.apiKey.type, 'http');
    for (const r of ROUTES) {
      const op = doc.paths[openApiPath(r.path)][r.method.toLowerCase()];
      const expected = r.caller === 'admin' ? [{ apiKey: [] }] : [{ bearerAuth: [] }, { apiKey: [] }];
      assert.deepEqual(op.security, expected, `${r.method} ${r.path}`);
      assert.ok(op.responses['401'] && op.responses['403'], `${r.method} ${r.path}: 401 and 403`);
    }
    for (const path of ['/health', '/ready', '/metrics']) assert.equal(doc.paths[path].get.security, undefined);
  });

  test('the wire shapes are named components', () => {
    const names = Object.keys(doc.components.schemas);
    for (const name of ['Error', 'ErrorBody', 'Message', 'Conversation', 'Member', 'Notification', 'Device', 'User', 'Presence', 'Change', 'ReadState', 'NotificationPreferences']) {
      assert.ok(names.includes(name), `components.schemas.${name}`);
    }
    const message = doc.components.schemas.Message;
    // DESIGN.md: fields clients rely on (may grow, never renamed).
    for (const field of ['id', 'conversationId', 'seq', 'senderId', 'clientMsgId', 'body', 'attachments', 'replyTo', 'mentions', 'reactions', 'createdAt', 'editedAt', 'deletedAt']) {
      assert.ok(message.required.includes(field), `Message.${field}`);
    }
    for (const field of ['id', 'kind', 'title', 'metadata', 'members', 'lastMessage', 'unreadCount', 'lastSeq']) {
      assert.ok(doc.components.schemas.Conversation.required.includes(field), `Conversation.${field}`);
    }
  });

  test('request bodies: required only when the body has a required field; routes that take none document none', () => {
    for (const [path, method, op] of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const route = ROUTES.find((r) => openApiPath(r.path) === path && r.method.toLowerCase() === method);
      if (!op.requestBody) {
        assert.ok(method === 'get' || !route?.fields, `${where}: takes a body but documents none`);
        continue;
      }
      const schema = op.requestBody.content['application/json'].schema;
      const needed = Boolean(schema.required?.length || schema.minProperties || schema.anyOf);
      assert.equal(op.requestBody.required, needed, `${where}: requestBody.required`);
      assert.equal(Boolean(route?.bodyRequired), needed, `${where}: the route table says the body is ${route?.bodyRequired ? '' : 'not '}required`);
    }
  });

  test("every route's real response matches its documented schema, names every field, and leaves the serializer unchanged", async () => {
    const check = responseChecker(doc);
    const failures: string[] = [];
    sent.clear();
    altered.length = 0;
    for (const route of ROUTES) {
      const { owner, fixture } = await makeFixture(h);
      const b = route.baseline(fixture);
      const url = route.path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(b.params?.[p] ?? '')) + (b.query ? `?${new URLSearchParams(b.query)}` : '');
      const client = route.caller === 'admin' ? h.admin() : owner;
      const res = await client.request(route.method, url, b.body);
      const problem = check(route.method, route.path, res.status, res.body);
      if (problem) failures.push(problem);
      // One error per route as well: its envelope is documented for that status.
      const denied = await h.as(owner.userId).request(route.method, url, b.body, { authorization: 'Bearer not.a.jwt' });
      const deniedProblem = check(route.method, route.path, denied.status, denied.body);
      if (deniedProblem) failures.push(deniedProblem);
    }
    for (const path of ['/health', '/ready']) {
      const res = await h.as('x').get(path);
      const problem = check('GET', path, res.status, res.body);
      if (problem) failures.push(problem);
    }
    assert.deepEqual([...failures, ...altered], []);
  });
});
