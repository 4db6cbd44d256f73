import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { MAX_OPERATIONS } from '../src/gateways/graphql/ws.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { gql, gqlWs, rawWs, record, wsUrl } from './helpers/graphql.ts';
import { API_KEY, type Harness, harness, send, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';

const now = () => Math.floor(Date.now() / 1000);

/** A raw socket that went through connection_init and got its ack. */
async function acked(url: string, userId = uid()) {
  const c = await rawWs(url);
  c.send({ type: 'connection_init', payload: { token: await tokenFor(userId) } });
  assert.deepEqual(await c.next(), { type: 'connection_ack' });
  return c;
}

describe('GraphQL over WebSocket: the graphql-ws protocol and its close codes', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend, { PARLEY_GRAPHQL_INIT_TIMEOUT_MS: '300', PARLEY_JWT_CLOCK_TOLERANCE: '0', PARLEY_CORS_ORIGINS: 'https://app.example' });
    url = await listen(h);
  });
  after(() => h.close());

  test('4401: a missing, bad or expired token in connection_init, or an API key; the reason is the code', async () => {
    for (const [payload, reason] of [
      [undefined, 'auth_required'],
      [{ token: 'garbage' }, 'token_invalid'],
      [{ authorization: `Bearer ${await tokenFor(uid(), {}, { expiresIn: now() - 60 })}` }, 'token_expired'],
      [{ headers: { Authorization: `Bearer ${API_KEY}` } }, 'token_invalid'],
    ] as const) {
      const c = await rawWs(url);
      c.send({ type: 'connection_init', ...(payload ? { payload } : {}) });
      assert.deepEqual(await c.closed, { code: 4401, reason }, JSON.stringify(payload));
    }
  });

  test('4401: subscribe before connection_init', async () => {
    const c = await rawWs(url);
    c.send({ type: 'subscribe', id: '1', payload: { query: '{ me { id } }' } });
    assert.equal((await c.closed).code, 4401);
  });

  test('4400: a frame that is not JSON, holds __proto__, or is no graphql-ws message', async () => {
    for (const [frame, reason] of [
      ['{not json', 'invalid_json'],
      ['{"type":"connection_init","payload":{"__proto__":{"x":1}}}', 'forbidden_key'],
      ['{"type":"bogus"}', 'Invalid message received'],
    ]) {
      const c = await rawWs(url);
      c.send(frame);
      assert.deepEqual(await c.closed, { code: 4400, reason }, frame);
    }
  });

  test('4406: a socket that did not ask for graphql-transport-ws', async () => {
    const ws = new WebSocket(wsUrl(url));
    assert.equal(await new Promise((resolve) => ws.once('close', resolve)), 4406);
  });

  test('4408: no connection_init in time (PARLEY_GRAPHQL_INIT_TIMEOUT_MS)', async () => {
    const c = await rawWs(url);
    assert.equal((await c.closed).code, 4408);
  });

  test('4409: a second subscription with an id already running', async () => {
    const c = await acked(url);
    const sub = { type: 'subscribe', id: 'same', payload: { query: 'subscription { unreadCountUpdated { total } }' } };
    c.send(sub);
    c.send(sub);
    assert.equal((await c.closed).code, 4409);
  });

  test('4429: a second connection_init', async () => {
    const c = await acked(url);
    c.send({ type: 'connection_init', payload: { token: await tokenFor(uid()) } });
    assert.equal((await c.closed).code, 4429);
  });

  test('4429: a flood of frames is refused (subscribes answered rate_limited), then closed; others are unaffected', async () => {
    const c = await acked(url);
    for (let i = 0; i < 150; i++) c.send({ type: 'ping' });
    c.send({ type: 'subscribe', id: 'over', payload: { query: '{ me { id } }' } });
    let refused: any;
    for (;;) {
      const m = await c.next();
      if (m.type === 'error') {
        refused = m;
        break;
      }
    }
    assert.equal(refused.id, 'over');
    assert.equal(refused.payload[0].extensions.code, 'rate_limited');
    for (let i = 0; i < 300; i++) c.send({ type: 'ping' });
    assert.deepEqual(await c.closed, { code: 4429, reason: 'flood' });
    assert.equal((await gql(url, uid(), '{ me { id } }')).me !== undefined, true);
  });

  test('4403: the socket ends when its token expires; the graphql-ws client reconnects with a fresh token', async () => {
    const userId = uid();
    let inits = 0;
    const client = createClient({
      url: wsUrl(url),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 1,
      retryWait: async () => {},
      // The first token lives two seconds; the next one an hour.
      connectionParams: async () => ({ token: await tokenFor(userId, {}, { expiresIn: inits++ === 0 ? now() + 2 : '1h' }) }),
    });
    const closes: { code: number; reason: string }[] = [];
    client.on('closed', (e) => closes.push({ code: (e as { code: number }).code, reason: (e as { reason: string }).reason }));
    let connected = 0;
    client.on('connected', () => connected++);
    try {
      await waitFor(() => connected === 2, 10_000, 'a reconnect after the expiry');
      assert.deepEqual(closes, [{ code: 4403, reason: 'token_expired' }]);
      assert.equal(inits, 2);
    } finally {
      await client.dispose();
    }
  });

  test('replaying the log is paid from the frame budget: resubscribing from an old since over and over is refused', async () => {
    const tight = await harness({ store: h.store }, { PARLEY_FRAME_BURST: '12', PARLEY_FRAME_RATE: '1' });
    const turl = await listen(tight);
    const ana = tight.as(uid('ana'));
    const bob = uid('bob');
    const id = await tight.group(ana, [bob]);
    for (let i = 0; i < 400; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => tight.app.services.messages.send({ userId: ana.userId }, id, { clientMsgId: `r-${i + j}`, body: 'x' })));
    }
    const client = await gqlWs(turl, bob);
    try {
      const outcomes: string[] = [];
      // Each replay of 400 changes reads two pages; eight subscribe frames alone would fit the budget.
      for (let i = 0; i < 8; i++) {
        const sub = record(client, 'subscription($c: ID!) { messageAdded(conversationId: $c, since: 0) { seq } }', { c: id });
        const done = await Promise.race([sub.count(400, 20_000).then(() => 'replayed'), sub.ended(20_000).then((e) => (e.error as any[])[0].extensions.code)]);
        outcomes.push(done);
        sub.stop();
      }
      assert.equal(outcomes[0], 'replayed');
      assert.ok(outcomes.includes('rate_limited'), outcomes.join(', '));
    } finally {
      await client.dispose();
      await tight.close();
    }
  });

  test('an Origin not in PARLEY_CORS_ORIGINS is refused before the handshake', async () => {
    const evil = new WebSocket(wsUrl(url), 'graphql-transport-ws', { headers: { origin: 'https://evil.example' } });
    evil.on('error', () => {});
    assert.equal(await new Promise((resolve) => evil.once('unexpected-response', (_q, res) => resolve(res.statusCode))), 403);
    evil.terminate();
    const good = new WebSocket(wsUrl(url), 'graphql-transport-ws', { headers: { origin: 'https://app.example' } });
    await new Promise((resolve, reject) => good.once('open', resolve).once('error', reject));
    good.close();
  });

  test(`a socket runs at most ${MAX_OPERATIONS} operations at once: the next is refused with too_many_operations`, async () => {
    const client = await gqlWs(url, uid());
    try {
      const subs = Array.from({ length: MAX_OPERATIONS }, () => record(client, 'subscription { notificationAdded { id } }'));
      const over = record(client, 'subscription { unreadCountUpdated { total } }');
      const { error } = await over.ended();
      assert.equal((error as any[])[0].extensions.code, 'too_many_operations');
      subs[0]!.stop();
      const fits = record(client, '{ me { id } }');
      await fits.count(1);
      for (const s of subs) s.stop();
    } finally {
      await client.dispose();
    }
  });

  test('a subscriber that stops reading, below PARLEY_MAX_BUFFERED_BYTES, stays connected; reading again, it gets every change once, in order', async () => {
    const ana = h.as(uid('ana'));
    const bob = uid('bob');
    const id = await h.group(ana, [bob]);
    const sockets: WebSocket[] = [];
    const Captured = class extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets.push(this);
      }
    };
    const client = createClient({ url: wsUrl(url), webSocketImpl: Captured, connectionParams: { token: await tokenFor(bob) }, lazy: false, retryAttempts: 0 });
    try {
      const sub = record(client, 'subscription($c: ID!) { messageAdded(conversationId: $c, since: 0) { seq } }', { c: id });
      await send(ana, id, 'first');
      await sub.count(1);
      // Stop reading: the kernel's buffers fill, then the server's (its frames stay under the bound).
      const raw = (sockets[0] as any)._socket;
      const resume = raw.resume.bind(raw);
      raw.pause();
      raw.resume = () => raw;
      // More changes than a subscription's live feed keeps (1,000) arrive while it waits.
      const body = 'x'.repeat(9000);
      const N = 1500;
      // A hundred at a time: sends arriving together share a transaction.
      for (let i = 1; i < N; i += 100) {
        await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => h.app.services.messages.send({ userId: ana.userId }, id, { clientMsgId: `s-${i + j}`, body })));
      }
      raw.resume = resume;
      raw.resume();
      await sub.count(N, 60_000);
      assert.deepEqual(sub.results.map((r) => r.data.messageAdded.seq), Array.from({ length: N }, (_, i) => i + 1));
      sub.stop();
    } finally {
      await client.dispose();
    }
  });

  test('queries and mutations run over the socket too, through the same limits; a refused one leaves the socket open', async () => {
    const userId = uid();
    const client = await gqlWs(url, userId);
    try {
      const bad = record(client, '{ me { id ');
      const { error } = await bad.ended();
      assert.equal((error as any[])[0].extensions.code, 'graphql_parse_failed');
      const deep = record(client, `{ ${'a { '.repeat(20)}b${' }'.repeat(20)} }`);
      assert.equal(((await deep.ended()).error as any[])[0].extensions.code, 'query_too_deep');
      const me = record(client, '{ me { id } }');
      await me.count(1);
      assert.deepEqual(me.results[0]!.data, { me: { id: userId } });
    } finally {
      await client.dispose();
    }
  });
});
