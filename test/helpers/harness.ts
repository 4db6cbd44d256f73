import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import webpush from 'web-push';
import { type App, type AppOverrides, buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { Store } from '../../src/storage/store.ts';
import type { Backend } from './backends.ts';

export const SECRET = 'parley-test-secret-0123456789-abcdef';
export const API_KEY = 'parley-test-admin-key-0123456789';

export const VAPID = webpush.generateVAPIDKeys();

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    PARLEY_JWT_SECRET: SECRET,
    PARLEY_API_KEYS: API_KEY,
    LOG_LEVEL: 'silent',
    PARLEY_RATE_LIMIT: 'off',
    PARLEY_VAPID_PUBLIC_KEY: VAPID.publicKey,
    PARLEY_VAPID_PRIVATE_KEY: VAPID.privateKey,
    ...env,
  });
}

/** A user id no other test uses, so tests share one store without seeing each other. */
export const uid = (prefix = 'u'): string => `${prefix}-${randomBytes(5).toString('hex')}`;
export const cid = (): string => randomUUID();

export async function tokenFor(userId: string, claims: Record<string, unknown> = {}, opts: { expiresIn?: string | number; secret?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

export interface Client {
  userId: string;
  request<T = any>(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Reply<T>>;
  get<T = any>(url: string): Promise<Reply<T>>;
  post<T = any>(url: string, body?: unknown): Promise<Reply<T>>;
  patch<T = any>(url: string, body?: unknown): Promise<Reply<T>>;
  put<T = any>(url: string, body?: unknown): Promise<Reply<T>>;
  delete<T = any>(url: string): Promise<Reply<T>>;
}

export interface Harness {
  app: App;
  store: Store;
  /** A client authenticated with a JWT for `userId`. */
  as(userId: string, claims?: Record<string, unknown>): Client;
  /** A client using the admin API key, acting for `actingAs` when given. */
  admin(actingAs?: string): Client;
  /** A group owned by `owner` with `members`; returns its id. */
  group(owner: Client, members: string[], title?: string): Promise<string>;
  close(): Promise<void>;
}

function client(app: App, userId: string, auth: () => Promise<Record<string, string>>): Client {
  const request = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.http.inject({
      method: method as 'GET',
      url,
      headers: { ...(await auth()), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown = res.body;
    try {
      parsed = res.body ? JSON.parse(res.body) : undefined;
    } catch {}
    return { status: res.statusCode, body: parsed as any, headers: res.headers };
  };
  return {
    userId,
    request,
    get: (url) => request('GET', url),
    post: (url, body) => request('POST', url, body),
    patch: (url, body) => request('PATCH', url, body),
    put: (url, body) => request('PUT', url, body),
    delete: (url) => request('DELETE', url),
  };
}

/** Builds an app on a fresh store of `backend` (or on `store` when given). */
export async function harness(
  backend: Backend | { store: Store },
  env: Record<string, string> = {},
  overrides: Omit<AppOverrides, 'store'> = {},
  /** Runs before the HTTP server is ready: where a test adds its own hooks. */
  beforeReady?: (app: App) => void,
): Promise<Harness> {
  const store = 'store' in backend ? backend.store : await backend.openStore();
  const app = await buildApp(testConfig(env), { ...overrides, store });
  beforeReady?.(app);
  await app.http.ready();
  const as = (userId: string, claims: Record<string, unknown> = {}) => {
    let token: Promise<string> | null = null;
    return client(app, userId, async () => {
      token ??= tokenFor(userId, claims);
      return { authorization: `Bearer ${await token}` };
    });
  };
  return {
    app,
    store,
    as,
    admin: (actingAs) =>
      client(app, actingAs ?? '', async () => ({ authorization: `Bearer ${API_KEY}`, ...(actingAs ? { 'x-parley-user': actingAs } : {}) })),
    async group(owner, members, title = 'group') {
      const res = await owner.post('/v1/conversations', { kind: 'group', members, title });
      if (res.status !== 201) throw new Error(`group creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.conversation.id;
    },
    async close() {
      await app.close();
      if (!('store' in backend)) await store.close();
    },
  };
}

/** Sends a message and returns it, failing loudly on anything but 201. */
export async function send(c: Client, conversationId: string, body = 'hello', extra: Record<string, unknown> = {}) {
  const res = await c.post(`/v1/conversations/${conversationId}/messages`, { clientMsgId: randomUUID(), body, ...extra });
  if (res.status !== 201) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.message;
}

/** Polls `check` until it returns a truthy value, failing after `timeoutMs`: no fixed sleeps. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 30_000, what = 'condition'): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as Exclude<T, undefined | null | false | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
