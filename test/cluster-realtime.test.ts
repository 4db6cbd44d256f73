import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Cluster, startCluster } from './helpers/cluster.ts';
import { adminPost } from './helpers/cluster-load.ts';
import { API_KEY, tokenFor, uid, VAPID, waitFor } from './helpers/harness.ts';
import { type FakeExpo, fakeExpo, type FakePushService, fakePushService } from './helpers/push-servers.ts';
import { type RtClient, socketClient, wsClient } from './helpers/realtime.ts';
import { http } from './helpers/server-process.ts';
import { startNginx } from './helpers/nginx.ts';
import { io } from 'socket.io-client';
import { type LocalSmtp, startLocalSmtp } from './helpers/smtp.ts';

/**
 * Three Parley processes on PostgreSQL and a private redis-server, members spread over the
 * instances and both gateways: every realtime feature crosses instances, nobody else hears
 * anything, limits hold across instances, and notification work runs once.
 */
const LONG = 300_000;

describe('realtime across a cluster', () => {
  let cluster: Cluster;
  let smtp: LocalSmtp;
  let webpush: FakePushService;
  let expo: FakeExpo;
  const clients: RtClient[] = [];
  let url: (i: number) => string;
  const connect = async (kind: 'socketio' | 'ws', instance: number, userId: string, claims: Record<string, unknown> = {}) => {
    const c = await (kind === 'ws' ? wsClient : socketClient)(url(instance), userId, { token: await tokenFor(userId, claims) });
    clients.push(c);
    return c;
  };
  const rest = async (instance: number, userId: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url(instance)}${path}`, {
      method,
      headers: { authorization: `Bearer ${await tokenFor(userId)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const group = async (instance: number, owner: string, members: string[]) => {
    const res = await rest(instance, owner, 'POST', '/v1/conversations', { kind: 'group', members, title: 'team' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.conversation.id as string;
  };

  // A digest needs a slot boundary (a minute): set up first, checked last.
  const digestUser = uid('dora');
  const digestEmail = `${digestUser}@example.com`;
  let digestConversation = '';

  before(async () => {
    [smtp, webpush, expo] = await Promise.all([startLocalSmtp(), fakePushService(VAPID.publicKey), fakeExpo()]);
    cluster = await startCluster({
      env: {
        PARLEY_RATE_LIMIT: '20/10s',
        PARLEY_PRESENCE_STALE_MS: '3000',
        PARLEY_PING_INTERVAL_MS: '1000',
        PARLEY_VAPID_PUBLIC_KEY: VAPID.publicKey,
        PARLEY_VAPID_PRIVATE_KEY: VAPID.privateKey,
        PARLEY_EXPO_ENDPOINT: expo.url,
        PARLEY_EXPO_RECEIPT_DELAY_SECONDS: '1',
        PARLEY_PUSH_COALESCE_MS: '3000',
        PARLEY_SMTP_URL: smtp.url,
        PARLEY_DIGEST_INTERVAL_MINUTES: '1',
      },
    });
    const urls = cluster.urls();
    url = (i) => urls[i]!;
    const owner = uid('owner');
    // Dora's profile carries her address (a token claim), then she goes away unread.
    assert.equal((await http(`${url(0)}/v1/me`, 'GET', await tokenFor(digestUser, { email: digestEmail }))).status, 200);
    digestConversation = await group(1, owner, [digestUser]);
    for (const i of [0, 1, 2]) assert.equal((await rest(i, owner, 'POST', `/v1/conversations/${digestConversation}/messages`, { clientMsgId: randomUUID(), body: `digest ${i}` })).status, 201);
  }, { timeout: LONG });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await cluster?.close();
    await Promise.allSettled([smtp?.close(), webpush?.close(), expo?.close()]);
  });

  const about = (id: string) => (d: any) => d?.conversationId === id;

  test('message, edit, reaction, typing, receipts, unread, delete, join and leave reach members on every instance and gateway; a non-member anywhere hears nothing', { timeout: LONG }, async () => {
    const [ana, bob, carol, dave, eve] = ['ana', 'bob', 'carol', 'dave', 'eve'].map(uid) as [string, string, string, string, string];
    const anaRt = await connect('socketio', 0, ana);
    const bobRt = await connect('ws', 1, bob);
    const bobPhone = await connect('socketio', 2, bob);
    const carolRt = await connect('socketio', 2, carol);
    const daveRt = await connect('ws', 0, dave);
    const eveRts = [await connect('ws', 2, eve), await connect('socketio', 1, eve), await connect('ws', 0, eve)];
    const id = await group(1, ana, [bob, carol]);
    const others = [bobRt, bobPhone, carolRt];

    const sent = await anaRt.send('message:send', { conversationId: id, clientMsgId: randomUUID(), body: 'hello cluster' });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    const m = sent.data;
    for (const c of others) assert.equal((await c.next('message:new', (d) => d.message.id === m.id)).seq, m.seq);

    assert.equal((await anaRt.send('message:edit', { messageId: m.id, body: 'hello, cluster' })).ok, true);
    for (const c of others) assert.equal((await c.next('message:updated', (d) => d.message.id === m.id)).message.body, 'hello, cluster');

    assert.equal((await carolRt.send('reaction:add', { messageId: m.id, emoji: '🎉' })).ok, true);
    for (const c of [anaRt, bobRt, bobPhone]) await c.next('reaction:updated', (d) => d.messageId === m.id && d.emoji === '🎉');

    assert.equal((await anaRt.send('typing:start', { conversationId: id })).ok, true);
    for (const c of others) await c.next('typing:update', (d) => d.userId === ana && d.typing === true);
    assert.equal((await anaRt.send('typing:stop', { conversationId: id })).ok, true);
    for (const c of others) await c.next('typing:update', (d) => d.userId === ana && d.typing === false);

    const read = await bobRt.send('conversation:read', { conversationId: id });
    assert.equal(read.ok, true, JSON.stringify(read));
    for (const c of [anaRt, carolRt]) await c.next('receipt:updated', (d) => d.userId === bob && d.readSeq >= m.seq);
    assert.equal((await bobPhone.next('unread:update', about(id))).unreadCount, 0);

    const del = await anaRt.send('message:delete', { messageId: m.id });
    assert.equal(del.ok, true);
    for (const c of others) await c.next('message:deleted', (d) => d.messageId === m.id);

    assert.equal((await rest(2, ana, 'POST', `/v1/conversations/${id}/members`, { userIds: [dave] })).status, 200);
    for (const c of [...others, anaRt]) await c.next('member:joined', (d) => d.member.userId === dave);
    await daveRt.next('member:joined', (d) => d.member.userId === dave);
    assert.ok([200, 204].includes((await rest(0, dave, 'DELETE', `/v1/conversations/${id}/members/${dave}`)).status));
    for (const c of [...others, anaRt, daveRt]) await c.next('member:left', (d) => d.userId === dave);
    // After leaving, Dave hears nothing more of it.
    const after = await bobRt.send('message:send', { conversationId: id, clientMsgId: randomUUID(), body: 'dave has gone' });
    for (const c of [anaRt, carolRt]) await c.next('message:new', (d) => d.message.id === after.data.id);
    assert.equal(daveRt.events.some((e) => e.event === 'message:new' && e.data.message.id === after.data.id), false);
    for (const e of eveRts) assert.deepEqual(e.events.filter((x) => x.data?.conversationId === id || x.data?.userId === ana), [], 'a non-member heard it');
  });

  test('notification:new reaches every device of the user, whatever instance the admin call went to', { timeout: LONG }, async () => {
    const fay = uid('fay');
    const devices = [await connect('ws', 0, fay), await connect('socketio', 1, fay), await connect('ws', 2, fay)];
    const res = await adminPost(url(2), '/v1/notifications', { userIds: [fay], type: 'system', title: 'Hello', body: 'from one instance', idempotencyKey: randomUUID() });
    assert.ok([200, 201].includes(res.status), JSON.stringify(res.body));
    for (const d of devices) assert.equal((await d.next('notification:new')).notification.title, 'Hello');
  });

  test('presence: online once across instances, still online while one device is, offline when the last goes', { timeout: LONG }, async () => {
    const [gil, hal] = [uid('gil'), uid('hal')];
    const halRt = await connect('ws', 1, hal);
    await group(0, gil, [hal]);
    const laptop = await connect('socketio', 0, gil);
    assert.equal((await halRt.next('presence:update', (p) => p.userId === gil)).status, 'online');
    const phone = await connect('ws', 2, gil);
    await laptop.close();
    const seen = await rest(1, hal, 'GET', `/v1/presence?userIds=${gil}`);
    assert.equal(seen.body.presence[0].status, 'online');
    await phone.close();
    const offline = await halRt.next('presence:update', (p) => p.userId === gil && p.status === 'offline');
    assert.ok(offline.lastSeenAt);
    assert.equal(halRt.events.filter((e) => e.event === 'presence:update' && e.data.userId === gil && e.data.status === 'online').length, 1, 'online once');
  });

  test("a user's rate limit holds across instances", { timeout: LONG }, async () => {
    const ivy = uid('ivy');
    const id = await group(0, uid('owner'), [ivy]);
    const results = [];
    for (let i = 0; i < 30; i++) {
      results.push((await rest(i % 3, ivy, 'POST', `/v1/conversations/${id}/messages`, { clientMsgId: randomUUID(), body: `n${i}` })).status);
    }
    assert.equal(results.filter((s) => s === 201).length, 20, JSON.stringify(results));
    assert.equal(results.filter((s) => s === 429).length, 10);
  });

  test('a burst to an offline user gives one push per device, with three instances working the queues', { timeout: LONG }, async () => {
    const [joe, kim] = [uid('joe'), uid('kim')];
    const sub = webpush.subscribe();
    const expoToken = `ExponentPushToken[${randomUUID()}]`;
    assert.equal((await rest(0, kim, 'POST', '/v1/me/devices', { platform: 'webpush', subscription: { endpoint: sub.endpoint, keys: sub.keys } })).status, 201);
    assert.equal((await rest(1, kim, 'POST', '/v1/me/devices', { platform: 'expo', token: expoToken })).status, 201);
    const id = await group(2, joe, [kim]);
    const burst = await Promise.all(Array.from({ length: 9 }, (_, i) => rest(i % 3, joe, 'POST', `/v1/conversations/${id}/messages`, { clientMsgId: randomUUID(), body: `burst ${i}` })));
    assert.ok(burst.every((r) => r.status === 201));
    // The invitation to the group is a push of its own; the burst is the message pushes.
    const toKim = () => ({
      webpush: webpush.received.filter((r) => r.payload?.data?.conversationId === id && r.payload.data.type === 'message'),
      expo: expo.received.flatMap((r) => r.messages).filter((m) => m.to === expoToken && m.data?.type === 'message'),
    });
    await waitFor(() => toKim().webpush.length >= 1 && toKim().expo.length >= 1, 60_000, 'a push on each device');
    // Settled: nothing queued, running or waiting anywhere; then count.
    await waitFor(async () => {
      const status = (await fetch(`${url(0)}/v1/admin/status`, { headers: { authorization: `Bearer ${API_KEY}` } }).then((r) => r.json())) as any;
      return ['push', 'webpush', 'expo'].every((ch) => status.channels[ch].queued === 0 && status.channels[ch].active === 0 && status.channels[ch].retrying === 0);
    }, 60_000, 'the delivery queues to settle');
    assert.equal(toKim().webpush.length, 1, `one web push: ${JSON.stringify(toKim().webpush.map((r) => r.payload))}`);
    assert.equal(toKim().expo.length, 1, 'one Expo push');
  });

  test('GET /v1/admin/status lists the instances, clients, online users and live conversations', { timeout: LONG }, async () => {
    const lee = uid('lee');
    await group(0, lee, [uid('x')]);
    await connect('ws', 1, lee);
    const status = await waitFor(async () => {
      const s = (await fetch(`${url(2)}/v1/admin/status`, { headers: { authorization: `Bearer ${API_KEY}` } }).then((r) => r.json())) as any;
      const total = s.instances.reduce((n: number, i: any) => n + i.connections.ws + i.connections.socketio, 0);
      return s.instances.length === 3 && total === s.connectedClients && s.connectedClients >= 1 ? s : null;
    }, 15_000, 'three instances with their connections');
    assert.ok(status.instances.every((i: any) => typeof i.id === 'string' && !Number.isNaN(Date.parse(i.startedAt))));
    assert.ok(status.onlineUsers >= 1);
    assert.ok(status.conversationsWithLiveMembers >= 1);
    assert.equal(typeof status.channels.push.queued, 'number');
  });

  test('digests run once across the instances: one email per user per slot', { timeout: LONG }, async () => {
    const mails = await smtp.waitFor(1, 120_000);
    const toDora = () => smtp.received.filter((m) => m.to.includes(digestEmail));
    await waitFor(() => toDora().length >= 1, 120_000, "Dora's digest");
    await waitFor(async () => {
      const status = (await fetch(`${url(1)}/v1/admin/status`, { headers: { authorization: `Bearer ${API_KEY}` } }).then((r) => r.json())) as any;
      return status.channels.email.queued === 0 && status.channels.email.active === 0;
    }, 30_000, 'the email queue to settle');
    assert.equal(toDora().length, 1, `one digest (of ${mails.length} mails)`);
    assert.match(toDora()[0]!.text, /digest 0[\s\S]*digest 2|digest 2[\s\S]*digest 0/);
  });

  test('behind the real nginx (deploy/nginx/parley.conf): clients through it chat with a client on an instance, over Socket.IO (long-polling, then upgrade) and the plain WebSocket', { timeout: LONG }, async () => {
    const nginx = await startNginx(cluster.urls());
    try {
      const [pat, quinn, rae] = [uid('pat'), uid('quinn'), uid('rae')];
      const id = await group(0, pat, [quinn, rae]);
      // Socket.IO's default transports: long-polling first, then the upgrade, all through nginx.
      const patSocket = io(nginx.url, { auth: { token: await tokenFor(pat) }, reconnection: false, forceNew: true });
      const patEvents: any[] = [];
      patSocket.on('message:new', (d) => patEvents.push(d));
      await new Promise<void>((resolve, reject) => {
        patSocket.once('connect', () => resolve());
        patSocket.once('connect_error', reject);
      });
      const quinnWs = await wsClient(nginx.url, quinn);
      clients.push(quinnWs);
      const raeDirect = await connect('socketio', 1, rae);
      const hello = await patSocket.timeout(10_000).emitWithAck('message:send', { conversationId: id, clientMsgId: randomUUID(), body: 'through nginx' });
      assert.equal(hello.ok, true, JSON.stringify(hello));
      await raeDirect.next('message:new', (d) => d.message.id === hello.data.id);
      await quinnWs.next('message:new', (d) => d.message.id === hello.data.id);
      const reply = await raeDirect.send('message:send', { conversationId: id, clientMsgId: randomUUID(), body: 'from an instance' });
      await quinnWs.next('message:new', (d) => d.message.id === reply.data.id);
      await waitFor(() => patEvents.some((d) => d.message.id === reply.data.id), 10_000, 'the reply through nginx');
      assert.equal(patSocket.io.engine.transport.name, 'websocket', 'upgraded from long-polling through nginx');
      const viaNginx = await fetch(`${nginx.url}/v1/conversations/${id}/messages`, { headers: { authorization: `Bearer ${await tokenFor(pat)}` } }).then((r) => r.json() as Promise<any>);
      assert.deepEqual(viaNginx.messages.map((m: any) => m.body).sort(), ['from an instance', 'through nginx']);
      patSocket.disconnect();
    } finally {
      await nginx.stop();
    }
  });

  test("a killed instance's users go offline on the others within the stale bound; a custom status survives", { timeout: LONG }, async () => {
    const [max, ned] = [uid('max'), uid('ned')];
    const nedRt = await connect('ws', 0, ned);
    await group(0, max, [ned]);
    const maxRt = await connect('socketio', 2, max);
    assert.equal((await maxRt.send('presence:set', { status: 'busy', customStatus: { text: 'deploying' } })).ok, true);
    await nedRt.next('presence:update', (p) => p.userId === max && p.status === 'busy');
    const killedAt = Date.now();
    await cluster.kill(2);
    const offline = await nedRt.next('presence:update', (p) => p.userId === max && p.status === 'offline', 30_000);
    console.log(`offline after ${Date.now() - killedAt} ms (PARLEY_PRESENCE_STALE_MS=3000)`);
    assert.deepEqual(offline.customStatus, { text: 'deploying' });
    const back = await connect('ws', 1, max);
    const [me] = (await back.send('presence:get', { userIds: [max] })).data.presence;
    assert.equal(me.status, 'busy');
    assert.deepEqual(me.customStatus, { text: 'deploying' });
  });
});
