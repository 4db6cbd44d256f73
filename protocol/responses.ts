import { type Static, type TObject, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { ERRORS } from './errors.ts';
import { NOTIFICATION_TYPES } from './schemas.ts';

/**
 * Schemas of what leaves the server: the wire shapes DESIGN.md fixes (fields may be added,
 * never renamed). They are the OpenAPI document's `components.schemas` (each `$id` is its
 * component name) and the REST routes' response schemas.
 *
 * Every object is open (`additionalProperties: true`): fields may be added, never renamed.
 * The contract test (test/openapi.test.ts) closes them, so every field sent is documented,
 * and checks that what goes on the wire is exactly what the service returned.
 */

const wire = <T extends TProperties>($id: string | undefined, properties: T, description?: string): TObject<T> =>
  Type.Object(properties, { additionalProperties: true, ...($id ? { $id } : {}), ...(description ? { description } : {}) });
/** `T` or null: a JSON Schema type list for a plain type (`["string", "null"]`), a union for a reference. */
const orNull = <T extends TSchema>(schema: T) =>
  typeof schema.type === 'string' ? Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] }) : Type.Union([schema, Type.Null()]);
const Id = Type.String({ format: 'uuid', description: 'A UUID, always in lower case' });
const Time = Type.String({ format: 'date-time' });
const Seq = Type.Integer({ minimum: 0 });
const Count = Type.Integer({ minimum: 0 });
const Free = Type.Record(Type.String(), Type.Unknown());
const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
const Status = Type.Union([Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('read')]);
const Cursor = orNull(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' }));

export const ErrorBodySchema = wire('ErrorBody', {
  code: Type.Union(Object.keys(ERRORS).map((c) => Type.Literal(c)), { description: 'Stable: clients branch on it (docs/errors.md)' }),
  message: Type.String({ description: 'For humans; may change' }),
  retryAfter: Type.Optional(Type.Integer({ minimum: 0, description: 'Seconds to wait (rate_limited, unavailable)' })),
  details: Type.Optional(Type.Array(wire(undefined, { path: Type.String(), message: Type.String() }), { description: 'Which fields failed (validation_failed); which parts are down (not_ready)' })),
});
export const ErrorSchema = wire('Error', { error: Type.Ref(ErrorBodySchema) }, 'Every error, on every gateway');

export const UserSchema = wire('User', { id: Type.String(), name: orNull(Type.String()), picture: orNull(Type.String()) });

export const AttachmentSchema = wire('Attachment', {
  url: Type.String(),
  name: Type.Optional(Type.String()),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  mimeType: Type.Optional(Type.String()),
});
export const ReactionSummarySchema = wire('ReactionSummary', { emoji: Type.String(), count: Count, userIds: Type.Array(Type.String()) });

export const MessageSchema = wire('Message', {
  id: Id,
  conversationId: Id,
  seq: Seq,
  senderId: Type.String(),
  clientMsgId: Type.String(),
  body: Type.String({ description: 'Empty once deleted' }),
  attachments: Type.Array(Type.Ref(AttachmentSchema)),
  replyTo: orNull(Id),
  replyCount: Count,
  mentions: Type.Array(Type.String()),
  reactions: Type.Array(Type.Ref(ReactionSummarySchema)),
  createdAt: Time,
  editedAt: orNull(Time),
  deletedAt: orNull(Time),
  status: Type.Optional({ ...Status, description: "Only on the caller's own messages" }),
});

export const MemberSchema = wire('Member', {
  userId: Type.String(),
  name: orNull(Type.String()),
  picture: orNull(Type.String()),
  role: Role,
  joinedAt: Time,
  readSeq: Seq,
  deliveredSeq: Seq,
});

export const ConversationSchema = wire('Conversation', {
  id: Id,
  kind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
  title: orNull(Type.String()),
  metadata: Free,
  members: Type.Array(Type.Ref(MemberSchema), { description: 'The first 100 in join order; every member, a page at a time, from GET /v1/conversations/{id}/members' }),
  memberCount: Count,
  lastMessage: orNull(Type.Ref(MessageSchema)),
  lastSeq: Seq,
  createdAt: Time,
  updatedAt: Time,
  lastActivityAt: Time,
  unreadCount: Count,
  role: Role,
  archived: Type.Boolean(),
  mutedUntil: orNull(Time),
});

export const ReadStateSchema = wire('ReadState', {
  conversationId: Id,
  userId: Type.String(),
  readSeq: Seq,
  deliveredSeq: Seq,
  unreadCount: Count,
  totalUnread: Count,
  lastSeq: Type.Integer({ minimum: 0, description: "The conversation's last seq when unreadCount was read: the count includes every event up to it" }),
});

export const ChangeSchema = wire(
  'Change',
  {
    type: Type.String({ description: 'The live event name (message:new, reaction:updated, member:left...)' }),
    conversationId: Id,
    seq: Seq,
    data: Type.Record(Type.String(), Type.Unknown(), { description: 'Exactly the live event payload (docs/realtime.md)' }),
  },
  "One entry of a conversation's log",
);

export const CustomStatusSchema = wire('CustomStatus', { text: Type.Optional(Type.String()), emoji: Type.Optional(Type.String()), expiresAt: Type.Optional(Time) });
export const PresenceSchema = wire('Presence', {
  userId: Type.String(),
  status: Type.Union(['online', 'away', 'busy', 'dnd', 'offline'].map((s) => Type.Literal(s))),
  customStatus: orNull(Type.Ref(CustomStatusSchema)),
  lastSeenAt: orNull(Time),
});

export const NotificationSchema = wire('Notification', {
  id: Id,
  userId: Type.String(),
  type: Type.Union(NOTIFICATION_TYPES.map((t) => Type.Literal(t))),
  priority: Type.Union(['low', 'normal', 'high', 'urgent'].map((p) => Type.Literal(p))),
  title: Type.String(),
  body: Type.String(),
  data: Free,
  actionUrl: orNull(Type.String()),
  createdAt: Time,
  readAt: orNull(Time),
  expiresAt: orNull(Time),
});

const Switches = wire(undefined, { inApp: Type.Optional(Type.Boolean()), email: Type.Optional(Type.Boolean()), push: Type.Optional(Type.Boolean()) });
export const NotificationPreferencesSchema = wire('NotificationPreferences', {
  types: Type.Record(Type.String(), Switches, { description: 'Per notification type; types left out use every channel' }),
  quietHours: wire(undefined, {
    enabled: Type.Boolean(),
    timeZone: Type.String(),
    windows: Type.Array(wire(undefined, { days: Type.Array(Type.Integer({ minimum: 0, maximum: 6 })), start: Type.String(), end: Type.String() })),
  }),
  doNotDisturb: Type.Boolean(),
  mentionsInMuted: Type.Boolean(),
});

export const DeviceSchema = wire('Device', {
  id: Id,
  platform: Type.Union(['apns', 'fcm', 'expo', 'webpush'].map((p) => Type.Literal(p))),
  token: Type.String({ description: 'The APNs, FCM or Expo token; for Web Push, the endpoint' }),
  keys: orNull(wire(undefined, { p256dh: Type.String(), auth: Type.String() })),
  createdAt: Time,
});

export const QueueCountsSchema = wire('QueueCounts', {
  queued: Count,
  active: Count,
  retrying: Count,
  completed: Count,
  failed: Count,
  attempts: Count,
  deadLetters: Count,
});
export const DeadLetterSchema = wire('DeadLetter', { id: Id, channel: Type.String(), data: Free, reason: Type.String(), createdAt: Time });

/** Every shared shape, registered once (Fastify `addSchema`) and listed as a component. */
export const WIRE_SCHEMAS = [
  ErrorBodySchema,
  ErrorSchema,
  UserSchema,
  AttachmentSchema,
  ReactionSummarySchema,
  MessageSchema,
  MemberSchema,
  ConversationSchema,
  ReadStateSchema,
  ChangeSchema,
  CustomStatusSchema,
  PresenceSchema,
  NotificationSchema,
  NotificationPreferencesSchema,
  DeviceSchema,
  QueueCountsSchema,
  DeadLetterSchema,
];

/** GET /ready: each part's state, and what is wrong (503 `not_ready` adds the error). */
const Readiness = {
  status: Type.Union([Type.Literal('ready'), Type.Literal('degraded'), Type.Literal('not_ready')], { description: 'degraded: serving, something shared is down' }),
  reasons: Type.Array(Type.String(), { description: 'What is wrong, part by part' }),
  checks: Type.Record(Type.String(), wire(undefined, { ok: Type.Boolean(), detail: Type.String() }), { description: 'storage, jobs, redis (cluster mode), bus' }),
};

/** Response bodies of the REST routes, built from the shapes above. */
export const Bodies = {
  conversation: wire(undefined, { conversation: Type.Ref(ConversationSchema) }),
  conversationPage: wire(undefined, { conversations: Type.Array(Type.Ref(ConversationSchema)), nextCursor: Cursor }),
  membersAdded: wire(undefined, { added: Type.Array(Type.Ref(MemberSchema)) }),
  member: wire(undefined, { member: Type.Ref(MemberSchema) }),
  memberPage: wire(undefined, {
    members: Type.Array(Type.Ref(MemberSchema), { description: 'In join order (then by user id): `limit` of them (100 unless given)' }),
    memberCount: Count,
    nextCursor: Cursor,
  }),
  message: wire(undefined, { message: Type.Ref(MessageSchema) }),
  messagePage: wire(undefined, { messages: Type.Array(Type.Ref(MessageSchema)), hasMore: Type.Boolean() }),
  receipts: wire(undefined, {
    messageId: Id,
    seq: Seq,
    status: Status,
    members: Type.Array(wire(undefined, { userId: Type.String(), status: Status }), {
      description: 'A page of the other members (all but the sender), by user id: `limit` of them (100 unless given)',
    }),
    nextCursor: Cursor,
  }),
  readState: Type.Ref(ReadStateSchema),
  unread: wire(undefined, {
    totalUnread: Count,
    conversations: Type.Record(Type.String(), Count, { description: 'Unread per conversation id (those with none left out)' }),
    lastSeqs: Type.Record(Type.String(), Seq, { description: "Each of your conversations' last seq when the counts were read: a count includes every event up to it, and none after" }),
  }),
  sync: wire(undefined, {
    changes: Type.Array(Type.Ref(ChangeSchema)),
    hasMore: Type.Boolean({ description: 'The page was cut: call again with the cursors advanced' }),
    reset: Type.Array(Id, { description: 'Too far behind: reload recent history instead' }),
    removed: Type.Array(Id, { description: 'Cursors of conversations the caller is no longer a member of' }),
  }),
  presenceList: wire(undefined, { presence: Type.Array(Type.Ref(PresenceSchema)) }),
  presence: wire(undefined, { presence: Type.Ref(PresenceSchema) }),
  user: wire(undefined, { user: Type.Ref(UserSchema) }),
  adminStatus: wire(undefined, {
    instances: Type.Array(
      wire(undefined, {
        id: Type.String(),
        startedAt: Time,
        connections: Type.Record(Type.String(), Count, { description: 'Live realtime connections by gateway' }),
        seenAt: Time,
      }),
      { description: 'Instances heard from in the last seconds (each beats every 2 s)' },
    ),
    connectedClients: Count,
    onlineUsers: Count,
    conversationsWithLiveMembers: Type.Integer({ minimum: 0, description: 'Conversations with an online member (a floor past 50,000 online users)' }),
    channels: Type.Record(Type.String(), Type.Ref(QueueCountsSchema)),
  }),
  deadLetterPage: wire(undefined, { deadLetters: Type.Array(Type.Ref(DeadLetterSchema)), nextCursor: Cursor }),
  retried: wire(undefined, { retried: Type.Boolean() }),
  notificationPage: wire(undefined, { notifications: Type.Array(Type.Ref(NotificationSchema)), nextCursor: Cursor }),
  unreadCount: wire(undefined, { unreadCount: Count }),
  notificationRead: wire(undefined, { notification: Type.Ref(NotificationSchema), unreadCount: Count }),
  readAll: wire(undefined, { updated: Count, unreadCount: Count }),
  deleted: wire(undefined, { deleted: Count }),
  notificationsSent: wire(undefined, { notifications: Type.Array(Type.Ref(NotificationSchema)), created: Count }),
  preferences: Type.Ref(NotificationPreferencesSchema),
  devices: wire(undefined, { devices: Type.Array(Type.Ref(DeviceSchema)) }),
  device: wire(undefined, { device: Type.Ref(DeviceSchema) }),
  vapidKey: wire(undefined, { publicKey: Type.String({ description: 'applicationServerKey for pushManager.subscribe (base64url)' }) }),
  status: wire(undefined, { status: Type.String() }),
  devToken: wire(undefined, { token: Type.String({ description: 'A bearer JWT' }), expiresAt: Time }),
  readiness: wire(undefined, Readiness),
} as const;
