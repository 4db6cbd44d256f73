import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import webpush from 'web-push';
import type { PushDevice, PushMessage } from '../src/delivery/channel.ts';
import { createApnsChannel } from '../src/delivery/channels/apns.ts';
import { createExpoChannel } from '../src/delivery/channels/expo.ts';
import { createFcmChannel } from '../src/delivery/channels/fcm.ts';
import { assertPushEndpointAllowed, createWebPushChannel, PushEndpointRefused } from '../src/delivery/channels/webpush.ts';
import {
  deadUrl,
  expoError,
  type FakeApns,
  type FakeExpo,
  type FakeFcm,
  type FakePushService,
  fakeApns,
  fakeExpo,
  fakeFcm,
  fakePushService,
  fcmError,
} from './helpers/push-servers.ts';

const message: PushMessage = {
  title: 'Ana',
  body: 'see you at 8 <b>ok</b>',
  data: { conversationId: 'c1', seq: 42 },
  badge: 3,
  collapseKey: 'conv-c1',
  priority: 'high',
  ttlSeconds: 3600,
};
const apnsToken = 'a1'.repeat(32);

describe('APNs channel against a local HTTP/2 server', () => {
  let apns: FakeApns;
  let channel: ReturnType<typeof createApnsChannel>;
  const device: PushDevice = { id: 'd1', platform: 'apns', token: apnsToken };
  before(async () => {
    apns = await fakeApns();
    channel = createApnsChannel({ ...apns, endpoint: apns.url });
  });
  after(async () => {
    await channel.close();
    await apns.close();
  });

  test('delivers with a verified provider token, the headers and the payload', async () => {
    assert.deepEqual(await channel.send(device, message), { status: 'delivered' });
    const got = apns.received.at(-1)!;
    assert.equal(got.problem, undefined);
    assert.equal(got.token, apnsToken);
    assert.equal(got.headers['apns-topic'], apns.bundleId);
    assert.equal(got.headers['apns-push-type'], 'alert');
    assert.equal(got.headers['apns-priority'], '10');
    assert.equal(got.headers['apns-collapse-id'], 'conv-c1');
    const expiration = Number(got.headers['apns-expiration']);
    assert.ok(Math.abs(expiration - (Date.now() / 1000 + 3600)) < 10);
    assert.deepEqual(got.payload, { conversationId: 'c1', seq: 42, aps: { alert: { title: 'Ana', body: message.body }, badge: 3, sound: 'default' } });
  });

  test('custom data cannot replace aps; normal priority is 5', async () => {
    await channel.send(device, { ...message, priority: 'normal', data: { aps: 'hijack' } });
    const got = apns.received.at(-1)!;
    assert.equal(got.headers['apns-priority'], '5');
    assert.equal(got.payload.aps.alert.title, 'Ana');
  });

  test('the provider token is reused across sends and the session survives a dropped connection', async () => {
    const before = apns.received.length;
    for (let i = 0; i < 3; i++) assert.equal((await channel.send(device, message)).status, 'delivered');
    apns.dropSessions();
    assert.equal((await channel.send(device, message)).status, 'delivered');
    const jwts = new Set(apns.received.slice(before).map((r) => r.jwt));
    assert.equal(jwts.size, 1);
  });

  test('error mapping', async () => {
    const cases: [number, unknown, Record<string, string> | undefined, object][] = [
      [410, { reason: 'Unregistered', timestamp: Date.now() }, undefined, { status: 'invalid_token', reason: 'Unregistered' }],
      [400, { reason: 'BadDeviceToken' }, undefined, { status: 'invalid_token', reason: 'BadDeviceToken' }],
      [400, { reason: 'DeviceTokenNotForTopic' }, undefined, { status: 'invalid_token', reason: 'DeviceTokenNotForTopic' }],
      [429, { reason: 'TooManyRequests' }, { 'retry-after': '7' }, { status: 'retry', reason: 'TooManyRequests', retryAfterMs: 7000 }],
      [500, { reason: 'InternalServerError' }, undefined, { status: 'retry', reason: 'InternalServerError' }],
      [503, { reason: 'ServiceUnavailable' }, undefined, { status: 'retry', reason: 'ServiceUnavailable' }],
      [413, { reason: 'PayloadTooLarge' }, undefined, { status: 'failed', reason: 'PayloadTooLarge' }],
      [400, { reason: 'BadCollapseId' }, undefined, { status: 'failed', reason: 'BadCollapseId' }],
    ];
    for (const [status, body, headers, expected] of cases) {
      apns.script.next({ status, body, ...(headers ? { headers } : {}) });
      assert.deepEqual(await channel.send(device, message), expected, `${status} ${JSON.stringify(body)}`);
    }
  });

  test('403 signs a new provider token once and resends; a second 403 fails', async () => {
    const before = apns.received.length;
    apns.script.next({ status: 403, body: { reason: 'ExpiredProviderToken' } });
    assert.deepEqual(await channel.send(device, message), { status: 'delivered' });
    const [first, second] = apns.received.slice(before);
    assert.notEqual(first!.jwt, second!.jwt);
    assert.equal(second!.problem, undefined);

    apns.script.next({ status: 403, body: { reason: 'InvalidProviderToken' } }, 2);
    assert.deepEqual(await channel.send(device, message), { status: 'failed', reason: 'InvalidProviderToken' });
  });

  test('a malformed token is pruned without a request', async () => {
    const before = apns.received.length;
    const result = await channel.send({ ...device, token: '../../evil' }, message);
    assert.equal(result.status, 'invalid_token');
    assert.equal(apns.received.length, before);
  });

  test('a server that is gone gives retry, never a throw', async () => {
    const dead = createApnsChannel({ ...apns, endpoint: await deadUrl('https') });
    const result = await dead.send(device, message);
    assert.equal(result.status, 'retry');
    await dead.close();
  });
});

describe('FCM channel against a local OAuth + messages:send server', () => {
  let fcm: FakeFcm;
  let channel: ReturnType<typeof createFcmChannel>;
  const device: PushDevice = { id: 'd2', platform: 'fcm', token: 'fcm-token-1' };
  before(async () => {
    fcm = await fakeFcm();
    channel = createFcmChannel({ serviceAccount: fcm.serviceAccount, endpoint: fcm.url });
  });
  after(async () => {
    await channel.close();
    await fcm.close();
  });

  test('delivers with an access token from the JWT-bearer grant, cached across sends', async () => {
    assert.deepEqual(await channel.send(device, message), { status: 'delivered' });
    assert.deepEqual(await channel.send(device, message), { status: 'delivered' });
    assert.equal(fcm.tokenGrants.length, 1);
    assert.equal(fcm.tokenGrants[0].iss, fcm.serviceAccount.client_email);
    const got = fcm.received.at(-1)!;
    assert.deepEqual(got.message, {
      token: 'fcm-token-1',
      notification: { title: 'Ana', body: message.body },
      data: { conversationId: 'c1', seq: '42' },
      android: { priority: 'HIGH', ttl: '3600s', collapse_key: 'conv-c1' },
    });
  });

  test('401 gets a new access token once and resends', async () => {
    fcm.revokeTokens();
    const grants = fcm.tokenGrants.length;
    assert.deepEqual(await channel.send(device, message), { status: 'delivered' });
    assert.equal(fcm.tokenGrants.length, grants + 1);
    fcm.script.next({ status: 401, body: fcmError(401, 'UNAUTHENTICATED') }, 2);
    assert.equal((await channel.send(device, message)).status, 'retry');
  });

  test('error mapping', async () => {
    const cases: [number, unknown, Record<string, string> | undefined, object][] = [
      [404, fcmError(404, 'NOT_FOUND', 'UNREGISTERED'), undefined, { status: 'invalid_token', reason: 'UNREGISTERED' }],
      [400, fcmError(400, 'INVALID_ARGUMENT', 'UNREGISTERED'), undefined, { status: 'invalid_token', reason: 'UNREGISTERED' }],
      [404, fcmError(404, 'NOT_FOUND'), undefined, { status: 'invalid_token', reason: 'NOT_FOUND' }],
      [400, fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'), undefined, { status: 'failed', reason: 'INVALID_ARGUMENT' }],
      [429, fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'), { 'retry-after': '30' }, { status: 'retry', reason: 'QUOTA_EXCEEDED', retryAfterMs: 30_000 }],
      [500, fcmError(500, 'INTERNAL', 'INTERNAL'), undefined, { status: 'retry', reason: 'INTERNAL' }],
      [503, fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE'), undefined, { status: 'retry', reason: 'UNAVAILABLE' }],
    ];
    for (const [status, body, headers, expected] of cases) {
      fcm.script.next({ status, body, ...(headers ? { headers } : {}) });
      assert.deepEqual(await channel.send(device, message), expected, `${status} ${JSON.stringify(body)}`);
    }
  });

  test('a server that is gone gives retry, never a throw', async () => {
    const dead = createFcmChannel({ serviceAccount: { ...fcm.serviceAccount, token_uri: `${await deadUrl('http')}/token` }, endpoint: fcm.url });
    assert.equal((await dead.send(device, message)).status, 'retry');
    const deadSend = createFcmChannel({ serviceAccount: fcm.serviceAccount, endpoint: await deadUrl('http') });
    assert.equal((await deadSend.send(device, message)).status, 'retry');
  });
});

describe('Web Push channel against a local push service that decrypts', () => {
  let service: FakePushService;
  let channel: ReturnType<typeof createWebPushChannel>;
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' };
  before(async () => {
    service = await fakePushService(vapid.publicKey);
    channel = createWebPushChannel({ vapid, allowInsecure: true });
  });
  after(async () => {
    await channel.close();
    await service.close();
  });
  const deviceFor = () => {
    const sub = service.subscribe();
    return { id: 'd3', platform: 'webpush', subscription: { endpoint: sub.endpoint, keys: sub.keys } } satisfies PushDevice;
  };

  test('delivers an encrypted payload the subscriber decrypts, with a verified VAPID header', async () => {
    const device = deviceFor();
    assert.deepEqual(await channel.send(device, message), { status: 'delivered' });
    const got = service.received.at(-1)!;
    assert.equal(got.problem, undefined);
    assert.deepEqual(got.payload, { title: 'Ana', body: message.body, data: { conversationId: 'c1', seq: 42 } });
    assert.equal(got.vapid?.sub, 'mailto:ops@example.com');
    assert.equal(got.vapid?.aud, service.url);
    assert.equal(got.headers.ttl, '3600');
    assert.equal(got.headers.urgency, 'high');
    assert.equal(got.headers.topic, 'conv-c1');
  });

  test('error mapping', async () => {
    const device = deviceFor();
    const cases: [number, Record<string, string> | undefined, string, number | undefined][] = [
      [404, undefined, 'invalid_token', undefined],
      [410, undefined, 'invalid_token', undefined],
      [429, { 'retry-after': '12' }, 'retry', 12_000],
      [500, undefined, 'retry', undefined],
      [503, undefined, 'retry', undefined],
      [400, undefined, 'failed', undefined],
      [413, undefined, 'failed', undefined],
    ];
    for (const [status, headers, expected, retryAfterMs] of cases) {
      service.script.next({ status, ...(headers ? { headers } : {}) });
      const result = await channel.send(device, message);
      assert.equal(result.status, expected, String(status));
      assert.equal('retryAfterMs' in result ? result.retryAfterMs : undefined, retryAfterMs, String(status));
    }
  });

  test('a redirect is not followed', async () => {
    const before = service.received.length;
    service.script.next({ status: 307, headers: { location: `${service.url}/push/elsewhere` } });
    assert.equal((await channel.send(deviceFor(), message)).status, 'failed');
    assert.equal(service.received.length, before + 1);
  });

  test('a private or plain-http endpoint is refused unless insecure is allowed, without a request', async () => {
    const strict = createWebPushChannel({ vapid });
    const before = service.received.length;
    const result = await strict.send(deviceFor(), message);
    assert.equal(result.status, 'invalid_token');
    assert.equal(service.received.length, before);
  });

  test('malformed subscription keys are pruned', async () => {
    const device = deviceFor();
    const result = await channel.send({ ...device, subscription: { ...device.subscription, keys: { p256dh: 'abc', auth: 'def' } } }, message);
    assert.equal(result.status, 'invalid_token');
  });

  test('a server that is gone gives retry, never a throw', async () => {
    const device = deviceFor();
    const endpoint = `${await deadUrl('http')}/push/x`;
    assert.equal((await channel.send({ ...device, subscription: { ...device.subscription, endpoint } }, message)).status, 'retry');
  });
});

describe('Expo channel against a local push API', () => {
  let expo: FakeExpo;
  let channel: ReturnType<typeof createExpoChannel>;
  const device: PushDevice = { id: 'd4', platform: 'expo', token: 'ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]' };
  before(async () => {
    expo = await fakeExpo('expo-secret');
    channel = createExpoChannel({ endpoint: expo.url, accessToken: 'expo-secret', channelId: 'messages' });
  });
  after(async () => {
    await channel.close();
    await expo.close();
  });

  test('delivers one message with the access token', async () => {
    const sent = await channel.send(device, message);
    assert.equal(sent.status, 'delivered');
    assert.match((sent as { receipt?: string }).receipt ?? '', /^[0-9a-f-]{36}$/, 'the ticket id, to fetch the receipt with');
    const got = expo.received.at(-1)!;
    assert.equal(got.authorization, 'Bearer expo-secret');
    assert.deepEqual(got.messages, [
      { to: device.token, title: 'Ana', body: message.body, data: { conversationId: 'c1', seq: 42 }, priority: 'high', ttl: 3600, badge: 3, channelId: 'messages' },
    ]);
    assert.equal((await channel.send({ ...device, token: 'ExpoPushToken[abc]' }, message)).status, 'delivered');
  });

  test('error mapping', async () => {
    const cases: [number, unknown, Record<string, string> | undefined, string, number | undefined][] = [
      [200, expoError('DeviceNotRegistered'), undefined, 'invalid_token', undefined],
      [200, expoError('MessageTooBig'), undefined, 'failed', undefined],
      [200, expoError('MessageRateExceeded'), undefined, 'retry', undefined],
      [200, expoError('InvalidCredentials'), undefined, 'failed', undefined],
      [429, { errors: [{ code: 'TOO_MANY_REQUESTS' }] }, { 'retry-after': '5' }, 'retry', 5000],
      [500, {}, undefined, 'retry', undefined],
      [503, {}, undefined, 'retry', undefined],
      [400, { errors: [{ code: 'VALIDATION_ERROR' }] }, undefined, 'failed', undefined],
      [413, { errors: [{ code: 'PAYLOAD_TOO_LARGE' }] }, undefined, 'failed', undefined],
    ];
    for (const [status, body, headers, expected, retryAfterMs] of cases) {
      expo.script.next({ status, body, ...(headers ? { headers } : {}) });
      const result = await channel.send(device, message);
      assert.equal(result.status, expected, `${status} ${JSON.stringify(body)}`);
      assert.equal('retryAfterMs' in result ? result.retryAfterMs : undefined, retryAfterMs);
    }
  });

  test('receipts: ok, DeviceNotRegistered (prune), other errors (failed), not ready yet (null)', async () => {
    const cases: ['ok' | 'pending' | { error: string }, string | null][] = [
      ['ok', 'delivered'],
      [{ error: 'DeviceNotRegistered' }, 'invalid_token'],
      [{ error: 'MessageTooBig' }, 'failed'],
      ['pending', null],
    ];
    for (const [outcome, expected] of cases) {
      expo.setReceipts(outcome);
      const sent = (await channel.send(device, message)) as { receipt?: string };
      const checked = await channel.checkReceipt!(sent.receipt!);
      assert.equal(checked?.status ?? null, expected, JSON.stringify(outcome));
      assert.equal(expo.receiptRequests.at(-1), sent.receipt);
    }
    expo.setReceipts('ok');
    const dead = createExpoChannel({ endpoint: `${await deadUrl('http')}/--/api/v2/push/send` });
    assert.equal((await dead.checkReceipt!('x'))?.status, 'retry');
  });

  test('a token that is not an Expo push token is pruned without a request', async () => {
    const before = expo.received.length;
    for (const token of ['abc', 'ExponentPushToken[]', 'ExponentPushToken[a] x', '']) {
      assert.equal((await channel.send({ ...device, token }, message)).status, 'invalid_token', token);
    }
    assert.equal(expo.received.length, before);
  });

  test('a server that is gone gives retry, never a throw', async () => {
    const dead = createExpoChannel({ endpoint: `${await deadUrl('http')}/--/api/v2/push/send` });
    assert.equal((await dead.send(device, message)).status, 'retry');
  });
});

describe('assertPushEndpointAllowed', () => {
  const allowed = ['https://fcm.googleapis.com/fcm/send/abc', 'https://updates.push.services.mozilla.com/wpush/v2/x', 'https://[2606:4700::1]/p', 'https://8.8.8.8/p'];
  const refused = [
    'http://fcm.googleapis.com/fcm/send/abc',
    'https://127.0.0.1/p',
    'https://10.1.2.3/p',
    'https://192.168.1.1/p',
    'https://172.16.5.4/p',
    'https://169.254.169.254/latest/meta-data',
    'https://100.64.0.1/p',
    'https://0.0.0.0/p',
    'https://[::1]/p',
    'https://[::]/p',
    'https://[fc00::1]/p',
    'https://[fd00::1]/p',
    'https://[fe80::1]/p',
    'https://[::ffff:127.0.0.1]/p',
    'https://[::ffff:10.0.0.1]/p',
    'https://localhost/p',
    'https://api.localhost/p',
    'https://LOCALHOST./p',
    'https://2130706433/p',
    'https://0x7f.0.0.1/p',
    'ftp://example.com/p',
    'not a url',
  ];

  test('public https endpoints pass', () => {
    for (const url of allowed) assert.doesNotThrow(() => assertPushEndpointAllowed(url, false), url);
  });
  test('plain http, loopback, private, link-local and unique-local addresses are refused', () => {
    for (const url of refused) assert.throws(() => assertPushEndpointAllowed(url, false), PushEndpointRefused, url);
  });
  test('allowInsecure lets http and private addresses through, but not other schemes', () => {
    for (const url of refused.slice(0, 20)) assert.doesNotThrow(() => assertPushEndpointAllowed(url, true), url);
    assert.throws(() => assertPushEndpointAllowed('ftp://example.com/p', true), PushEndpointRefused);
    assert.throws(() => assertPushEndpointAllowed('not a url', true), PushEndpointRefused);
  });
});
