import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createMemoryRateLimiter } from '../src/realtime/rate-limiter-memory.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { changedTables, fingerprint, type OwnedStore, openOwnedStore } from './helpers/fingerprint.ts';
import { type Client, type Harness, harness, type Reply, send, uid, waitFor } from './helpers/harness.ts';
import { rateLimiterContract } from './helpers/rate-limiter-contract.ts';

/** DESIGN.md: rate limits are per user (default 30 events per 10 s), answered `rate_limited` with `retryAfter`. */

rateLimiterContract('memory', (opts) => createMemoryRateLimiter(opts));

function assertRateLimited(res: Reply, windowSec: number): void {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'rate_limited');
  assert.equal(typeof res.body.error.message, 'string');
  const retryAfter = res.body.error.retryAfter;
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSec, `retryAfter ${retryAfter} is not a whole number of seconds in 1..${windowSec}`);
  assert.equal(res.headers['retry-after'], String(retryAfter));
}

describe('rate limits over REST on pglite (PARLEY_RATE_LIMIT=30/10s)', () => {
  let owned: OwnedStore;
  let h: Harness;
  before(async () => {
    owned = await openOwnedStore(pgliteBackend);
    h = await harness({ store: owned.store }, { PARLEY_RATE_LIMIT: '30/10s' });
  });
  after(async () => {
    await h.close();
    await owned.close();
  });

  /** A group made by someone else, so `user` has spent nothing yet. */
  async function groupWith(user: Client): Promise<{ id: string; owner: Client }> {
    const owner = h.as(uid('owner'));
    return { id: await h.group(owner, [user.userId]), owner };
  }

  test('30 writes pass, the 31st gets 429 rate_limited with retryAfter and Retry-After, and writes nothing', async () => {
    const ana = h.as(uid('ana'));
    const { id } = await groupWith(ana);
    for (let i = 0; i < 30; i++) {
      const res = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: `m${i}`, body: `message ${i}` });
      assert.equal(res.status, 201, `write ${i + 1}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    await h.app.delivery.drain(); // the sends' notification work, drained in the background otherwise
    const before = await fingerprint(owned.db);
    assertRateLimited(await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'm30', body: 'one too many' }), 10);
    // Every kind of write is refused, not just sends, and none of them writes.
    const first = (await ana.get(`/v1/conversations/${id}/messages?limit=1&after=0`)).body.messages[0];
    assertRateLimited(await ana.patch(`/v1/messages/${first.id}`, { body: 'edited' }), 10);
    assertRateLimited(await ana.post(`/v1/messages/${first.id}/reactions`, { emoji: '👍' }), 10);
    assertRateLimited(await ana.post(`/v1/conversations/${id}/read`, { seq: 1 }), 10);
    assertRateLimited(await ana.delete(`/v1/messages/${first.id}`), 10);
    assertRateLimited(await ana.post('/v1/conversations', { kind: 'group', members: [] }), 10);
    assert.deepEqual(changedTables(before, await fingerprint(owned.db)), []);
    const history = await ana.get(`/v1/conversations/${id}/messages?limit=100`);
    assert.equal(history.body.messages.length, 30);
    assert.equal(history.body.messages.some((m: { body: string }) => m.body === 'one too many'), false);
  });

  test('a limited user can still read', async () => {
    const ana = h.as(uid('ana'));
    const { id } = await groupWith(ana);
    for (let i = 0; i < 30; i++) await send(ana, id, `m${i}`);
    assertRateLimited(await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: randomUUID(), body: 'x' }), 10);
    for (const url of ['/v1/me', '/v1/me/unread', '/v1/conversations', `/v1/conversations/${id}`, `/v1/conversations/${id}/messages`]) {
      const res = await ana.get(url);
      assert.equal(res.status, 200, `GET ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    // Reads spend nothing: many more of them than the limit still pass.
    const reads = await Promise.all(Array.from({ length: 40 }, () => ana.get(`/v1/conversations/${id}`)));
    assert.deepEqual(new Set(reads.map((r) => r.status)), new Set([200]));
  });

  test("one user's limit does not touch another user's writes", async () => {
    const ana = h.as(uid('ana'));
    const { id, owner } = await groupWith(ana);
    for (let i = 0; i < 30; i++) await send(ana, id, `m${i}`);
    assertRateLimited(await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: randomUUID(), body: 'x' }), 10);
    const bob = h.as(uid('bob'));
    assert.equal((await owner.post(`/v1/conversations/${id}/members`, { userIds: [bob.userId] })).status, 200);
    for (let i = 0; i < 30; i++) await send(bob, id, `bob ${i}`);
    await send(owner, id, 'the owner too');
  });

  test('admin API key calls are not limited, even when acting for a limited user', async () => {
    const ana = h.as(uid('ana'));
    const { id } = await groupWith(ana);
    for (let i = 0; i < 30; i++) await send(ana, id, `m${i}`);
    assertRateLimited(await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: randomUUID(), body: 'x' }), 10);
    const admin = h.admin();
    for (let i = 0; i < 40; i++) {
      const res = await admin.put(`/v1/users/${uid('imported')}`, { name: `user ${i}` });
      assert.equal(res.status, 200, `admin write ${i + 1}: ${res.status}`);
    }
    const acting = h.admin(ana.userId);
    for (let i = 0; i < 35; i++) await send(acting, id, `on behalf ${i}`);
  });

  test('after the window the limited user may write again (2 per 1 s, polled, no fixed sleep)', async () => {
    const fast = await harness({ store: owned.store }, { PARLEY_RATE_LIMIT: '2/1s' });
    try {
      const ana = fast.as(uid('ana'));
      const id = await fast.group(fast.as(uid('owner')), [ana.userId]);
      // Writes until one is refused: however slowly a busy machine sends them, a window
      // fills once three of them fall within one second.
      let refused = null;
      for (let i = 0; i < 50 && !refused; i++) {
        const res = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: `w-${i}`, body: 'fill' });
        if (res.status === 429) refused = res;
        else assert.equal(res.status, 201);
      }
      assert.ok(refused, 'no write was refused');
      assertRateLimited(refused, 1);
      const again = await waitFor(
        async () => {
          const res = await ana.post(`/v1/conversations/${id}/messages`, { clientMsgId: 'three', body: 'three' });
          return res.status === 201 ? res : null;
        },
        30_000,
        'the rate-limit window to end',
      );
      assert.ok(again);
      assert.equal(again.body.message.body, 'three');
    } finally {
      await fast.close();
    }
  });

  test('PARLEY_RATE_LIMIT=off: no limit at all', async () => {
    const open = await harness({ store: owned.store }, { PARLEY_RATE_LIMIT: 'off' });
    try {
      const ana = open.as(uid('ana'));
      const id = await open.group(ana, []);
      for (let i = 0; i < 40; i++) await send(ana, id, `m${i}`);
    } finally {
      await open.close();
    }
  });
});

describe('PARLEY_RATE_LIMIT configuration', () => {
  const rate = (value?: string) => loadConfig(value === undefined ? {} : { PARLEY_RATE_LIMIT: value }).rateLimit;

  test('defaults to 30 per 10 s', () => {
    assert.deepEqual(rate(), { points: 30, durationSec: 10 });
  });

  test('reads N/Ds, N/Dm and N/Dh; off and 0 turn it off', () => {
    assert.deepEqual(rate('30/10s'), { points: 30, durationSec: 10 });
    assert.deepEqual(rate('100/1m'), { points: 100, durationSec: 60 });
    assert.deepEqual(rate('5/2h'), { points: 5, durationSec: 7200 });
    assert.equal(rate('off'), null);
    assert.equal(rate('0'), null);
    assert.ok(Object.isFrozen(loadConfig({ PARLEY_RATE_LIMIT: '100/1m' }).rateLimit));
  });

  test('anything else is a ConfigError naming the variable', () => {
    for (const bad of ['garbage', '30', '30/', '/10s', '30/10', '30/10d', '30/10S', '0/10s', '-1/10s', '30/0s', '1.5/10s', ' 30/10s', '30 / 10s', 'OFF', '30/10s;DROP']) {
      assert.throws(
        () => loadConfig({ PARLEY_RATE_LIMIT: bad }),
        (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes('PARLEY_RATE_LIMIT') && p.includes(bad)),
        `"${bad}" should be refused`,
      );
    }
  });

  test('a bad PARLEY_RATE_LIMIT is reported together with the other bad variables', () => {
    assert.throws(
      () => loadConfig({ PARLEY_RATE_LIMIT: 'garbage', LOG_LEVEL: 'loud', PORT: 'x' }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 3,
    );
  });
});
