import assert from 'node:assert/strict';
import { createApnsChannel } from '../../src/delivery/channels/apns.ts';
import { createEmailChannel } from '../../src/delivery/channels/email.ts';
import { createExpoChannel } from '../../src/delivery/channels/expo.ts';
import { createFcmChannel } from '../../src/delivery/channels/fcm.ts';
import { createWebPushChannel } from '../../src/delivery/channels/webpush.ts';
import { QUEUES } from '../../src/storage/job-queue.ts';
import type { Backend, StoreOptions, TestStore } from './backends.ts';
import { type Client, type Harness, harness, uid, VAPID, waitFor } from './harness.ts';
import { type FakeApns, fakeApns } from './push/apns.ts';
import { type FakeExpo, fakeExpo } from './push/expo.ts';
import { type FakeFcm, fakeFcm } from './push/fcm.ts';
import { type BrowserSubscription, type FakePushService, fakePushService } from './push/webpush.ts';
import { type LocalSmtp, startLocalSmtp } from './smtp.ts';

/** Shared by the delivery and digest suites: an app whose channels all talk to local protocol servers, and ways to watch it settle. */
/** Fast retries so backoff and dead letters happen within a test. */
const JOBS = { retryLimit: 2, retryDelaySeconds: 1, expireSeconds: 30, maintenanceSeconds: 5, pollSeconds: 1 };
/**
 * The push coalescing window is long, so no load can make a burst straddle it or a read
 * miss it; `idle` then moves the clock past it for the pushes waiting on it.
 */
const COALESCE_MS = 600_000;
const ENV = { PARLEY_PUSH_COALESCE_MS: String(COALESCE_MS), PARLEY_PUSH_ALLOW_INSECURE: '1', PARLEY_DIGEST_INTERVAL_MINUTES: '0', PARLEY_EXPO_RECEIPT_DELAY_SECONDS: '1' };
const CHANNELS = ['push', 'apns', 'fcm', 'webpush', 'expo', 'email'] as const;

export interface Rig {
  h: Harness;
  store: TestStore;
  web: FakePushService;
  apns: FakeApns;
  fcm: FakeFcm;
  expo: FakeExpo;
  smtp: LocalSmtp;
  close(): Promise<void>;
}

/** An app on its own store whose channels all point at local servers speaking the providers' protocols. */
export async function rig(backend: Backend, now?: () => Date, env: Record<string, string> = {}, storeOptions: Omit<StoreOptions, 'jobs'> = {}): Promise<Rig> {
  const store = await backend.openStore({ ...storeOptions, jobs: JOBS });
  const [web, apns, fcm, expo, smtp] = await Promise.all([fakePushService(VAPID.publicKey), fakeApns(), fakeFcm(), fakeExpo(), startLocalSmtp()]);
  const h = await harness({ store }, { ...ENV, ...env }, {
    channels: {
      webpush: createWebPushChannel({ vapid: { ...VAPID, subject: 'mailto:ops@example.com' }, allowInsecure: true }),
      apns: createApnsChannel({ ...apns, endpoint: apns.url }),
      fcm: createFcmChannel({ serviceAccount: fcm.serviceAccount, endpoint: fcm.url }),
      expo: createExpoChannel({ endpoint: expo.url }),
    },
    email: createEmailChannel({ url: smtp.url, from: 'Parley <parley@example.com>' }),
    ...(now ? { now } : {}),
  });
  return {
    h,
    store,
    web,
    apns,
    fcm,
    expo,
    smtp,
    async close() {
      await h.close();
      await store.close();
      await Promise.all([web.close(), apns.close(), fcm.close(), expo.close(), smtp.close()]);
    },
  };
}

export type Counts = Record<(typeof CHANNELS)[number], { queued: number; active: number; retrying: number; completed: number; failed: number; attempts: number; deadLetters: number }>;
export const status = async (h: Harness): Promise<Counts> => (await h.admin().get('/v1/admin/status')).body.channels;

/**
 * The coalescing window ends now for every push waiting on it (and for nothing held for
 * another reason, such as quiet hours): its due time moves back by the window.
 */
export async function endCoalescing(r: Pick<Rig, 'h' | 'store'>): Promise<void> {
  await r.h.app.delivery.drain();
  await r.store.query(
    `UPDATE pgboss.job SET start_after = start_after - make_interval(secs => $1)
      WHERE name = $2 AND state = 'created' AND abs(extract(epoch FROM start_after - created_on) - $1) < 5`,
    [COALESCE_MS / 1000, QUEUES.push],
  );
  r.store.jobs.wake(QUEUES.push);
}

/**
 * Waits until the outbox is drained and no delivery job is queued, running or waiting to
 * retry, ending the coalescing window first (see endCoalescing).
 */
export async function idle(r: Pick<Rig, 'h' | 'store'>, timeoutMs = 60_000): Promise<Counts> {
  const { h } = r;
  await endCoalescing(r);
  const settled = await waitFor(
    async () => {
      const s = await status(h);
      return CHANNELS.every((c) => s[c].queued + s[c].active + s[c].retrying === 0) ? s : null;
    },
    timeoutMs,
    'delivery queues to empty',
  );
  return settled!;
}

export async function direct(a: Client, b: string): Promise<string> {
  const res = await a.post('/v1/conversations', { kind: 'direct', members: [b] });
  assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res.body));
  return res.body.conversation.id;
}

export async function webDevice(c: Client, web: FakePushService): Promise<{ sub: BrowserSubscription; id: string; deviceId: string }> {
  const sub = web.subscribe();
  const res = await c.post('/v1/me/devices', { platform: 'webpush', subscription: { endpoint: sub.endpoint, keys: sub.keys } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { sub, id: sub.endpoint.split('/').pop()!, deviceId: res.body.device.id };
}

export async function tokenDevice(c: Client, platform: 'apns' | 'fcm' | 'expo', token: string): Promise<string> {
  const res = await c.post('/v1/me/devices', { platform, token });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.device.id;
}

export const pushesTo = (web: FakePushService, id: string) => web.received.filter((r) => r.id === id);
export const hasDevice = async (c: Client, id: string) => (await c.get('/v1/me/devices')).body.devices.some((d: { id: string }) => d.id === id);
export const hex = (n: number) => [...Array(n)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');

/** Two users who know each other's names (the token's name claim becomes the profile name). */
export async function pair(h: Harness) {
  const ana = h.as(uid('ana'), { name: 'Ana' });
  const bob = h.as(uid('bob'), { name: 'Bob' });
  await ana.get('/v1/me');
  await bob.get('/v1/me');
  return { ana, bob, conversation: await direct(ana, bob.userId) };
}

