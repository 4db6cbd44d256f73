import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '../../protocol/errors.ts';

/** Every REST route with a valid baseline request, which the corpus mutates one thing at a time. */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ParamKind = 'uuid' | 'userId' | 'emoji';
export type FieldKind = 'string' | 'nullableString' | 'enum' | 'uuid' | 'dateTime' | 'int' | 'boolean' | 'array' | 'object' | 'nullableObject';

export interface Field {
  kind: FieldKind;
  required?: boolean;
  /** Longer than the schema allows, yet well under the body limit. */
  tooLong?: unknown;
  /** Right type, wrong value (pattern, range, semantics). */
  bad?: unknown[];
}

/** What exists before the corpus runs: a group of owner and member, a message with a reaction, a user. */
export interface Fixture {
  owner: string;
  member: string;
  conversationId: string;
  messageId: string;
  emoji: string;
  target: string;
  notificationId: string;
  deviceId: string;
  deadLetterId: string;
}

export interface Baseline {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
}

export interface RouteSpec {
  method: Method;
  /** Exactly as registered in src/gateways/http/routes/*.ts. */
  path: string;
  caller: 'user' | 'admin';
  params?: Record<string, ParamKind>;
  fields?: Record<string, Field>;
  /** `{}` is refused (required fields, or minProperties). */
  bodyRequired?: boolean;
  /** Bad values per query parameter. */
  query?: Record<string, string[]>;
  baseline(f: Fixture): Baseline;
}

export interface Case {
  group: string;
  name: string;
  /** The route as registered (`/v1/messages/:id`), to find its operation in the OpenAPI document. */
  route: string;
  caller: 'user' | 'admin';
  method: Method;
  url: string;
  /** Raw text or bytes, sent as is (application/json unless headers say otherwise). */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** The codes this input must get, when the input decides it. */
  codes?: ErrorCode[];
}

export const U = '6f1c1d9e-5b8a-4c36-9d43-1c2b3a4d5e6f';
export const cursorOf = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
export const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `user-${i}`);
export const VALIDATION: ErrorCode[] = ['validation_failed'];

export const id = { id: 'uuid' } as const;
export const conv = (f: Fixture) => ({ id: f.conversationId });
export const msg = (f: Fixture) => ({ id: f.messageId });
export const title: Field = { kind: 'nullableString', tooLong: 't'.repeat(201) };
export const metadata: Field = {
  kind: 'object',
  bad: [{ ['k'.repeat(65)]: 1 }, Object.fromEntries(ids(51).map((k) => [k, 1])), { big: 'x'.repeat(9000) }],
};
export const seq: Field = { kind: 'int' };
export const bodyText: Field = { kind: 'string', required: true, tooLong: 'x'.repeat(10_001) };
/** Cursors this server never issues: bad shapes, and times JavaScript holds but Postgres does not (year 0000). */
export const badCursors = [
  '',
  '!!!',
  'x'.repeat(201),
  cursorOf('not an array'),
  cursorOf(['0', U]),
  cursorOf(['2020-01-01T00:00:00Z', '-'.repeat(36)]),
  cursorOf(['-271821-04-20T00:00:00Z', U]),
  cursorOf(['+275760-09-13T00:00:00Z', U]),
  cursorOf(["1' OR '1'='1", U]),
  cursorOf(['0000-01-01T00:00:00.000Z', U]),
  cursorOf(['0000-12-31T23:59:59.999Z', U]),
];
export const until = ['0000-06-01T00:00:00Z', '10000-01-01T00:00:00Z', 'tomorrow', '2000-01-01T00:00:00Z', '2999-02-30T00:00:00Z', '2999-12-31T23:59:60Z', '9999-12-31T23:59:59-01:00', '2999-01-01T00:00:00'];

export const ROUTES: RouteSpec[] = [
  {
    method: 'POST',
    path: '/v1/conversations',
    caller: 'user',
    bodyRequired: true,
    fields: {
      kind: { kind: 'enum', required: true, bad: ['direct'] },
      members: { kind: 'array', required: true, bad: [['bad id'], ['x', 'x'], ["1' OR '1'='1"], ids(1001)] },
      title,
      metadata,
    },
    baseline: (f) => ({ body: { kind: 'group', members: [f.member], title: 't', metadata: { a: 1 } } }),
  },
  {
    method: 'GET',
    path: '/v1/conversations',
    caller: 'user',
    query: {
      limit: ['-1', '0', '1.5', '101', '9007199254740993', '1e400', 'abc', ''],
      cursor: badCursors,
      archived: ['maybe', '2'],
    },
    baseline: () => ({ query: { limit: '10', archived: 'false' } }),
  },
  { method: 'GET', path: '/v1/conversations/:id', caller: 'user', params: id, baseline: (f) => ({ params: conv(f) }) },
  {
    method: 'PATCH',
    path: '/v1/conversations/:id',
    caller: 'user',
    params: id,
    bodyRequired: true,
    fields: { title, metadata },
    baseline: (f) => ({ params: conv(f), body: { title: 'renamed', metadata: { b: 2 } } }),
  },
  { method: 'POST', path: '/v1/conversations/:id/archive', caller: 'user', params: id, baseline: (f) => ({ params: conv(f) }) },
  { method: 'DELETE', path: '/v1/conversations/:id/archive', caller: 'user', params: id, baseline: (f) => ({ params: conv(f) }) },
  {
    method: 'POST',
    path: '/v1/conversations/:id/mute',
    caller: 'user',
    params: id,
    fields: { until: { kind: 'dateTime', tooLong: `2999-01-01T00:00:00Z${'x'.repeat(5000)}`, bad: until } },
    baseline: (f) => ({ params: conv(f), body: { until: '2999-01-01T00:00:00Z' } }),
  },
  { method: 'DELETE', path: '/v1/conversations/:id/mute', caller: 'user', params: id, baseline: (f) => ({ params: conv(f) }) },
  {
    method: 'GET',
    path: '/v1/conversations/:id/members',
    caller: 'user',
    params: id,
    query: {
      limit: ['-1', '0', '1.5', '1001', '9007199254740993', 'abc', ''],
      cursor: [
        ...badCursors,
        'x'.repeat(401),
        cursorOf(['user', 'ana']),
        cursorOf(['member', '2020-01-01T00:00:00.000Z', 'ana']),
        cursorOf(['member', 1577836800000000, 'ana']),
        cursorOf(['member', '99999999999999999', 'ana']),
        cursorOf(['member', '-99999999999999999', 'ana']),
        cursorOf(['member', '1.5', 'ana']),
        cursorOf(['member', '1577836800000000', 'bad id']),
        cursorOf(['member', '1577836800000000', "1' OR '1'='1"]),
      ],
    },
    baseline: (f) => ({ params: conv(f), query: { limit: '10' } }),
  },
  {
    method: 'POST',
    path: '/v1/conversations/:id/members',
    caller: 'user',
    params: id,
    bodyRequired: true,
    fields: {
      userIds: { kind: 'array', required: true, bad: [[], ['bad id'], ['x', 'x'], ['a'.repeat(129)], ids(101)] },
      role: { kind: 'enum' },
    },
    baseline: (f) => ({ params: conv(f), body: { userIds: [`new-${f.target}`], role: 'member' } }),
  },
  {
    method: 'DELETE',
    path: '/v1/conversations/:id/members/:userId',
    caller: 'user',
    params: { id: 'uuid', userId: 'userId' },
    baseline: (f) => ({ params: { id: f.conversationId, userId: f.member } }),
  },
  {
    method: 'PATCH',
    path: '/v1/conversations/:id/members/:userId',
    caller: 'user',
    params: { id: 'uuid', userId: 'userId' },
    bodyRequired: true,
    fields: { role: { kind: 'enum', required: true } },
    baseline: (f) => ({ params: { id: f.conversationId, userId: f.member }, body: { role: 'admin' } }),
  },
  {
    method: 'GET',
    path: '/v1/conversations/:id/messages',
    caller: 'user',
    params: id,
    query: {
      before: ['0', '-1', '1.5', '9007199254740993', 'abc'],
      after: ['-1', '1.5', '99999999999999999999', 'x'],
      limit: ['0', '-5', '201', '1.5', '9007199254740993', 'x'],
      replyTo: ['x', "1' OR '1'='1", `urn:uuid:${U}`, '../'],
    },
    baseline: (f) => ({ params: conv(f), query: { after: '0', limit: '10' } }),
  },
  {
    method: 'POST',
    path: '/v1/conversations/:id/messages',
    caller: 'user',
    params: id,
    bodyRequired: true,
    fields: {
      clientMsgId: { kind: 'string', required: true, tooLong: 'c'.repeat(65), bad: ['has space', "1' OR '1'='1", 'ü'] },
      body: bodyText,
      attachments: {
        kind: 'array',
        bad: [
          [{ url: 'javascript:alert(1)' }],
          [{ url: 'https://x.example/a', size: -1 }],
          [{ url: 'https://x.example/a', size: 1.5 }],
          [{ url: 'https://x.example/a', size: 2 ** 41 }],
          [{ url: 'https://x.example/a', mimeType: 'text' }],
          [{ url: 'https://x.example/a', extra: 1 }],
          Array.from({ length: 11 }, () => ({ url: 'https://x.example/a' })),
        ],
      },
      replyTo: { kind: 'uuid', bad: [`urn:uuid:${U}`, `{${U}}`, U] },
      mentions: { kind: 'array', bad: [['bad id'], ['x', 'x'], ['stranger-1'], ids(51)] },
    },
    baseline: (f) => ({
      params: conv(f),
      body: {
        clientMsgId: randomUUID(),
        body: 'hello',
        attachments: [{ url: 'https://cdn.example/a.png', name: 'a.png', size: 10, mimeType: 'image/png' }],
        replyTo: f.messageId,
        mentions: [f.member],
      },
    }),
  },
  { method: 'GET', path: '/v1/messages/:id', caller: 'user', params: id, baseline: (f) => ({ params: msg(f) }) },
  {
    method: 'PATCH',
    path: '/v1/messages/:id',
    caller: 'user',
    params: id,
    bodyRequired: true,
    fields: { body: bodyText },
    baseline: (f) => ({ params: msg(f), body: { body: 'edited' } }),
  },
  { method: 'DELETE', path: '/v1/messages/:id', caller: 'user', params: id, baseline: (f) => ({ params: msg(f) }) },
  { method: 'GET', path: '/v1/messages/:id/receipts', caller: 'user', params: id, baseline: (f) => ({ params: msg(f) }) },
  {
    method: 'POST',
    path: '/v1/messages/:id/reactions',
    caller: 'user',
    params: id,
    bodyRequired: true,
    fields: { emoji: { kind: 'string', required: true, tooLong: 'x'.repeat(33), bad: [' ', 'a b', '\n', '\t', '\u0007'] } },
    baseline: (f) => ({ params: msg(f), body: { emoji: '🎉' } }),
  },
  {
    method: 'DELETE',
    path: '/v1/messages/:id/reactions/:emoji',
    caller: 'user',
    params: { id: 'uuid', emoji: 'emoji' },
    baseline: (f) => ({ params: { id: f.messageId, emoji: f.emoji } }),
  },
  { method: 'POST', path: '/v1/conversations/:id/read', caller: 'user', params: id, fields: { seq }, baseline: (f) => ({ params: conv(f), body: { seq: 1 } }) },
  { method: 'POST', path: '/v1/conversations/:id/delivered', caller: 'user', params: id, fields: { seq }, baseline: (f) => ({ params: conv(f), body: { seq: 1 } }) },
  { method: 'GET', path: '/v1/me/unread', caller: 'user', baseline: () => ({}) },
  {
    method: 'GET',
    path: '/v1/sync',
    caller: 'user',
    query: {
      cursors: ['x', U, `${U}:`, `${U}:-1`, `${U}:1.5`, `${U}:9007199254740993`, `${U}:1:2`, 'not-a-uuid:1', `urn:uuid:${U}:1`, 'x'.repeat(8001)],
      limit: ['0', '-1', '1001', '1.5', 'x'],
    },
    baseline: (f) => ({ query: { cursors: `${f.conversationId}:0`, limit: '10' } }),
  },
  {
    method: 'POST',
    path: '/v1/sync',
    caller: 'user',
    bodyRequired: true,
    fields: {
      cursors: { kind: 'object', required: true, bad: [{ 'not-a-uuid': 0 }, { [`urn:uuid:${U}`]: 0 }, { [U]: -1 }, { [U]: 1.5 }, { [U]: '1' }, { [U]: 2 ** 60 }] },
      limit: { kind: 'int' },
    },
    baseline: (f) => ({ body: { cursors: { [f.conversationId]: 0 }, limit: 10 } }),
  },
  {
    method: 'GET',
    path: '/v1/presence',
    caller: 'user',
    query: { userIds: ['', ',', 'a,,b', 'bad id', 'a'.repeat(129), ids(201).join(','), "1' OR '1'='1", '\u0000', 'x'.repeat(26_001)] },
    baseline: (f) => ({ query: { userIds: `${f.member},${f.owner}` } }),
  },
  {
    method: 'PUT',
    path: '/v1/me/status',
    caller: 'user',
    bodyRequired: true,
    fields: {
      status: { kind: 'enum', bad: ['offline'] },
      customStatus: {
        kind: 'nullableObject',
        bad: [{ text: '' }, { text: 't'.repeat(101) }, { emoji: 'a b' }, { extra: 1 }, { expiresAt: '2000-01-01T00:00:00Z' }, { expiresAt: '2999-12-31T23:59:60Z' }, { expiresAt: '9999-12-31T23:59:59-01:00' }, { expiresAt: '0000-01-01T00:00:00Z' }],
      },
    },
    baseline: () => ({ body: { status: 'away', customStatus: { text: 'lunch', emoji: '🍔', expiresAt: '2999-01-01T00:00:00Z' } } }),
  },
  { method: 'GET', path: '/v1/me', caller: 'user', baseline: () => ({}) },
  {
    method: 'PUT',
    path: '/v1/users/:id',
    caller: 'admin',
    params: { id: 'userId' },
    fields: {
      name: { kind: 'nullableString', tooLong: 'n'.repeat(201) },
      picture: { kind: 'nullableString', tooLong: `https://${'a'.repeat(2041)}`, bad: ['ftp://x.example/a.png', 'javascript:alert(1)', '/relative.png'] },
      email: { kind: 'nullableString', tooLong: `${'a'.repeat(250)}@x.io`, bad: ['not an address', 'a@localhost', 'Carol <c@x.io>', 'c@x.io\r\nBcc: y@x.io', 'a,b@x.io'] },
      metadata,
    },
    baseline: (f) => ({ params: { id: f.target }, body: { name: 'Carol', picture: 'https://img.example/c.png', email: 'carol@example.com', metadata: { team: 'x' } } }),
  },
  { method: 'GET', path: '/v1/admin/status', caller: 'admin', baseline: () => ({}) },
  { method: 'GET', path: '/v1/admin/dead-letters', caller: 'admin', query: { limit: ['0', '201', 'x', '-1'], cursor: badCursors }, baseline: () => ({ query: { limit: '10' } }) },
  { method: 'POST', path: '/v1/admin/dead-letters/:id/retry', caller: 'admin', params: id, baseline: (f) => ({ params: { id: f.deadLetterId } }) },
  { method: 'GET', path: '/v1/notifications', caller: 'user', query: { limit: ['0', '101', 'x', '-1'], unread: ['maybe', '2'], type: ['nope', ''], cursor: badCursors }, baseline: () => ({ query: { limit: '10', unread: 'true', type: 'system' } }) },
  { method: 'GET', path: '/v1/notifications/unread-count', caller: 'user', baseline: () => ({}) },
  { method: 'POST', path: '/v1/notifications/:id/read', caller: 'user', params: id, baseline: (f) => ({ params: { id: f.notificationId } }) },
  { method: 'POST', path: '/v1/notifications/read-all', caller: 'user', baseline: () => ({}) },
  { method: 'DELETE', path: '/v1/notifications/:id', caller: 'user', params: id, baseline: (f) => ({ params: { id: f.notificationId } }) },
  { method: 'DELETE', path: '/v1/notifications', caller: 'user', baseline: () => ({}) },
  {
    method: 'POST',
    path: '/v1/notifications',
    caller: 'admin',
    bodyRequired: true,
    fields: {
      userIds: { kind: 'array', required: true, bad: [[], ['bad id'], ['a', 'a'], ids(1001)] },
      type: { kind: 'enum', required: true, bad: ['nope'] },
      title: { kind: 'string', required: true, tooLong: 't'.repeat(201) },
      body: { kind: 'string', required: true, tooLong: 'b'.repeat(2001) },
      data: metadata,
      actionUrl: { kind: 'string', bad: ['javascript:alert(1)', 'ftp://x'] },
      priority: { kind: 'enum', bad: ['extreme'] },
      idempotencyKey: { kind: 'string', bad: ['has space', 'k'.repeat(65)] },
    },
    baseline: (f) => ({ body: { userIds: [f.owner, f.member], type: 'system', title: 'T', body: 'B', data: { a: 1 }, actionUrl: '/x', priority: 'high', idempotencyKey: 'k1' } }),
  },
  { method: 'GET', path: '/v1/me/notification-preferences', caller: 'user', baseline: () => ({}) },
  {
    method: 'PUT',
    path: '/v1/me/notification-preferences',
    caller: 'user',
    fields: {
      types: { kind: 'object', bad: [{ nope: { push: false } }, { message: { push: 'no' } }, { message: { sms: true } }] },
      quietHours: {
        kind: 'object',
        bad: [
          { enabled: true, timeZone: 'Mars/Olympus', windows: [] },
          { enabled: true, timeZone: 'UTC', windows: [{ days: [7], start: '22:00', end: '07:00' }] },
          { enabled: true, timeZone: 'UTC', windows: [{ days: [1], start: '24:00', end: '07:00' }] },
          { enabled: true, timeZone: 'UTC' },
        ],
      },
      doNotDisturb: { kind: 'boolean' },
      mentionsInMuted: { kind: 'boolean' },
    },
    baseline: () => ({ body: { types: { message: { push: false } }, quietHours: { enabled: true, timeZone: 'Europe/Paris', windows: [{ days: [1, 2], start: '22:00', end: '07:00' }] }, doNotDisturb: false } }),
  },
  { method: 'GET', path: '/v1/me/devices', caller: 'user', baseline: () => ({}) },
  {
    method: 'POST',
    path: '/v1/me/devices',
    caller: 'user',
    bodyRequired: true,
    fields: { platform: { kind: 'enum', required: true, bad: ['sms'] }, token: { kind: 'string', bad: ['short', 'has space here'] } },
    baseline: () => ({ body: { platform: 'apns', token: `apns-${randomUUID()}` } }),
  },
  { method: 'GET', path: '/v1/push/vapid-public-key', caller: 'user', baseline: () => ({}) },
  { method: 'DELETE', path: '/v1/me/devices/:id', caller: 'user', params: id, baseline: (f) => ({ params: { id: f.deviceId } }) },
];
