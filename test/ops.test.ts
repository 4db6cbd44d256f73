import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from '../protocol/errors.ts';
import { adminRoutes } from '../src/gateways/http/routes/admin.ts';
import { conversationRoutes } from '../src/gateways/http/routes/conversations.ts';
import { memberRoutes } from '../src/gateways/http/routes/members.ts';
import { messageRoutes } from '../src/gateways/http/routes/messages.ts';
import { readStateRoutes } from '../src/gateways/http/routes/read-state.ts';
import { notificationRoutes } from '../src/gateways/http/routes/notifications.ts';
import { realtimeRoutes } from '../src/gateways/http/routes/realtime.ts';
import { userRoutes } from '../src/gateways/http/routes/users.ts';
import type { Services } from '../src/services/index.ts';
import { openPglite } from '../src/storage/db-pglite.ts';
import { createSqlStore } from '../src/storage/sql-store.ts';
import type { Store } from '../src/storage/store.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness } from './helpers/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * The REST routes the app serves, as `METHOD /openapi/{path}`. Adding a route means adding it
 * here: the OpenAPI test below fails until the document and this table agree.
 */
const ROUTES = [
  'GET /health',
  'GET /ready',
  'GET /metrics',
  // notifications.ts
  'GET /v1/notifications',
  'GET /v1/notifications/unread-count',
  'POST /v1/notifications/{id}/read',
  'POST /v1/notifications/read-all',
  'DELETE /v1/notifications/{id}',
  'DELETE /v1/notifications',
  'POST /v1/notifications',
  'GET /v1/me/notification-preferences',
  'PUT /v1/me/notification-preferences',
  'GET /v1/me/devices',
  'POST /v1/me/devices',
  'DELETE /v1/me/devices/{id}',
  'GET /v1/push/vapid-public-key',
  // conversations.ts
  'POST /v1/conversations',
  'GET /v1/conversations',
  'GET /v1/conversations/{id}',
  'PATCH /v1/conversations/{id}',
  'POST /v1/conversations/{id}/archive',
  'DELETE /v1/conversations/{id}/archive',
  'POST /v1/conversations/{id}/mute',
  'DELETE /v1/conversations/{id}/mute',
  // members.ts
  'GET /v1/conversations/{id}/members',
  'POST /v1/conversations/{id}/members',
  'DELETE /v1/conversations/{id}/members/{userId}',
  'PATCH /v1/conversations/{id}/members/{userId}',
  // messages.ts
  'GET /v1/conversations/{id}/messages',
  'POST /v1/conversations/{id}/messages',
  'GET /v1/messages/{id}',
  'PATCH /v1/messages/{id}',
  'DELETE /v1/messages/{id}',
  'GET /v1/messages/{id}/receipts',
  'POST /v1/messages/{id}/reactions',
  'DELETE /v1/messages/{id}/reactions/{emoji}',
  // read-state.ts
  'POST /v1/conversations/{id}/read',
  'POST /v1/conversations/{id}/delivered',
  'GET /v1/me/unread',
  // realtime.ts
  'GET /v1/sync',
  'POST /v1/sync',
  'GET /v1/presence',
  'PUT /v1/me/status',
  // users.ts
  'GET /v1/me',
  'PUT /v1/users/{id}',
  'GET /v1/admin/status',
  'GET /v1/admin/dead-letters',
  'POST /v1/admin/dead-letters/{id}/retry',
];

/** Every REST route DESIGN.md's public contract names. */
const DESIGN_ROUTES = [
  'POST /v1/conversations',
  'GET /v1/conversations',
  'GET /v1/conversations/{id}',
  'PATCH /v1/conversations/{id}',
  'POST /v1/conversations/{id}/members',
  'DELETE /v1/conversations/{id}/members/{userId}',
  'GET /v1/conversations/{id}/messages',
  'POST /v1/conversations/{id}/messages',
  'PATCH /v1/messages/{id}',
  'DELETE /v1/messages/{id}',
  'POST /v1/messages/{id}/reactions',
  'DELETE /v1/messages/{id}/reactions/{emoji}',
  'POST /v1/conversations/{id}/read',
  'POST /v1/conversations/{id}/delivered',
  'GET /v1/sync',
  'GET /v1/presence',
  'PUT /v1/me/status',
  'GET /v1/notifications',
  'GET /v1/notifications/unread-count',
  'POST /v1/notifications/{id}/read',
  'POST /v1/notifications/read-all',
  'DELETE /v1/notifications/{id}',
  'POST /v1/notifications',
  'GET /v1/me/notification-preferences',
  'PUT /v1/me/notification-preferences',
  'POST /v1/me/devices',
  'DELETE /v1/me/devices/{id}',
  'GET /v1/push/vapid-public-key',
  'PUT /v1/users/{id}',
  'GET /health',
  'GET /ready',
  'GET /v1/admin/status',
];

/** DESIGN.md routes not served yet (none since issue 4); kept so the check below stays exact both ways. */
const NOT_YET_BUILT: string[] = [];

const toOpenApi = (url: string): string => url.replace(/:(\w+)/g, '{$1}');
const toFastify = (url: string): string => url.replace(/\{(\w+)\}/g, ':$1');

/** What the route modules register, recorded on a stand-in for Fastify (handlers never run). */
function recordRouteModules(): string[] {
  const routes: string[] = [];
  const add = (method: string | string[], url: string) => {
    for (const m of [method].flat()) routes.push(`${m.toUpperCase()} ${toOpenApi(url)}`);
  };
  const stub = {
    get: (url: string) => add('GET', url),
    post: (url: string) => add('POST', url),
    put: (url: string) => add('PUT', url),
    patch: (url: string) => add('PATCH', url),
    delete: (url: string) => add('DELETE', url),
    route: (opts: { method: string | string[]; url: string }) => add(opts.method, opts.url),
  } as unknown as FastifyInstance;
  const services = {} as Services;
  for (const register of [adminRoutes, conversationRoutes, memberRoutes, messageRoutes, readStateRoutes, realtimeRoutes, userRoutes, notificationRoutes]) register(stub, services);
  return routes.sort();
}

let store: Store;
let h: Harness;
before(async () => {
  store = await pgliteBackend.openStore();
  h = await harness({ store });
});
after(async () => {
  await h.close();
  await store.close();
});

const get = (url: string) => h.app.http.inject({ method: 'GET', url });

describe('health and readiness', () => {
  test('GET /health answers 200 {status: ok}', async () => {
    const res = await get('/health');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  test('GET /ready answers 200 when storage is migrated', async () => {
    const res = await get('/ready');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'ready');
  });

  test('GET /ready answers 503 not_ready on a store that is not migrated, and /health still 200', async () => {
    // A fresh in-memory PGlite (initdb, ~4 s) without migrate().
    const db = await openPglite();
    const raw = createSqlStore(db);
    const unready = await harness({ store: raw });
    try {
      const res = await unready.app.http.inject({ method: 'GET', url: '/ready' });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error.code, 'not_ready');
      assert.equal(typeof res.json().error.message, 'string');
      assert.equal((await unready.app.http.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    } finally {
      await unready.close();
      await raw.close();
    }
  });

  test('GET /ready answers 503 when storage is closed', async () => {
    const closed = await pgliteBackend.openStore();
    const app = await harness({ store: closed });
    try {
      assert.equal((await app.app.http.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
      await closed.close();
      const res = await app.app.http.inject({ method: 'GET', url: '/ready' });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error.code, 'not_ready');
    } finally {
      await app.close();
    }
  });
});

describe('OpenAPI and docs', () => {
  test('the route table matches what the route modules register', () => {
    const recorded = recordRouteModules();
    const tableV1 = ROUTES.filter((r) => r.split(' ')[1]!.startsWith('/v1/')).sort();
    assert.deepEqual(recorded, tableV1);
    for (const r of ROUTES) {
      const [method, url] = r.split(' ') as [string, string];
      assert.ok(h.app.http.hasRoute({ method: method as 'GET', url: toFastify(url) }), `${r} is not registered`);
    }
  });

  test('GET /openapi.json is an OpenAPI 3 document listing every route', async () => {
    const res = await get('/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(doc.info.title, 'Parley');
    assert.equal(typeof doc.info.version, 'string');
    const documented: string[] = [];
    for (const [p, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(item)) {
        if (['get', 'put', 'post', 'patch', 'delete', 'head', 'options'].includes(method)) documented.push(`${method.toUpperCase()} ${p}`);
      }
    }
    assert.deepEqual(documented.sort(), [...ROUTES].sort());
    // Every /v1 operation declares its credentials (test/openapi.test.ts checks which); the operations routes are open.
    for (const r of ROUTES) {
      const [method, p] = r.split(' ') as [string, string];
      const op = doc.paths[p][method.toLowerCase()];
      assert.equal(typeof op.summary, 'string', `${r} has no summary`);
      if (p.startsWith('/v1/')) assert.ok((op.security as object[]).some((s) => 'apiKey' in s), `${r} security`);
    }
    assert.equal(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
  });

  test('every route DESIGN.md names is served', () => {
    const missing = DESIGN_ROUTES.filter((r) => {
      const [method, url] = r.split(' ') as [string, string];
      return !h.app.http.hasRoute({ method: method as 'GET', url: toFastify(url) });
    });
    // Kept exact both ways: a route that disappears fails, and so does one that arrives
    // without leaving this list.
    assert.deepEqual(missing.sort(), [...NOT_YET_BUILT].sort());
  });

  test('GET /docs answers HTML', async () => {
    let res = await get('/docs');
    for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 5; hops++) {
      const location = String(res.headers.location);
      res = await get(new URL(location, 'http://localhost/docs').pathname);
    }
    assert.equal(res.statusCode, 200, res.body.slice(0, 200));
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<html/i);
  });
});

describe('unknown routes', () => {
  test('an unknown route answers 404 route_not_found', async () => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['GET', '/v1/unknown'],
      ['POST', '/v1/whatever'],
      ['PUT', '/health'],
      ['DELETE', '/v1/conversations'],
    ] as const) {
      const res = await h.app.http.inject({ method, url });
      assert.equal(res.statusCode, 404, `${method} ${url}: ${res.statusCode}`);
      assert.equal(res.json().error.code, 'route_not_found');
      assert.equal(typeof res.json().error.message, 'string');
    }
  });
});

describe('docs/errors.md', () => {
  test('lists every code of the catalogue with its status, and no other', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    const rows = new Map<string, number>();
    for (const line of doc.split('\n')) {
      const m = /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
      if (!m) continue;
      assert.ok(!rows.has(m[1]!), `${m[1]} is listed twice`);
      assert.ok(m[3]!.length > 0, `${m[1]} has no meaning`);
      rows.set(m[1]!, Number(m[2]));
    }
    for (const [code, { status }] of Object.entries(ERRORS)) {
      assert.ok(rows.has(code), `docs/errors.md lacks ${code}`);
      assert.equal(rows.get(code), status, `docs/errors.md gives ${code} status ${rows.get(code)}, the catalogue ${status}`);
    }
    const unknown = [...rows.keys()].filter((code) => !(code in ERRORS));
    assert.deepEqual(unknown, [], `docs/errors.md lists codes the catalogue lacks`);
  });
});

describe('metrics', () => {
  test('GET /metrics is Prometheus text with process and realtime figures', async () => {
    const res = await h.app.http.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    for (const name of ['parley_process_resident_memory_bytes', 'parley_connections', 'parley_events_total', 'parley_deliveries_total', 'parley_delivery_jobs']) {
      assert.match(res.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(res.body, /^parley_delivery_jobs\{channel="webpush",state="deadLetters"\} \d+$/m);
  });
});
