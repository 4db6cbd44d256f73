import { type Static, Type } from '@sinclair/typebox';
import { CLIENT_MSG_ID_PATTERN, EMOJI_PATTERN, LIMITS, USER_ID_PATTERN } from './limits.ts';
import { NOTIFICATION_TYPES } from './types.ts';

/**
 * Payload schemas of the wire contract. REST routes and realtime commands validate against
 * these same objects before any service runs, so a payload means the same on every gateway.
 * Objects are closed (additionalProperties: false): an unknown key is an error, not ignored.
 */

const closed = { additionalProperties: false } as const;

export const UserId = Type.String({ pattern: USER_ID_PATTERN });
/** UUID text only (ajv's `uuid` format also takes `urn:uuid:`, which Postgres refuses), in either case. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/**
 * A UUID: accepted in any case, turned to lower case by the gateway's validation
 * (`x-lowercase`), the one form Parley stores, compares and sends (docs/ids.md).
 */
export const Uuid = Type.String({ pattern: UUID_PATTERN, 'x-lowercase': true });
export const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
// TypeBox drops a key schema's keywords from Record, so key rules go in propertyNames.
export const Metadata = Type.Record(Type.String(), Type.Unknown(), { maxProperties: 50, propertyNames: { maxLength: 64 } });

export const Attachment = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, pattern: '^(https?://|/)' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    size: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 40 })),
    mimeType: Type.Optional(Type.String({ pattern: '^[\\w.+-]{1,63}/[\\w.+-]{1,63}$' })),
  },
  closed,
);

const Body = Type.String({ minLength: 1, maxLength: LIMITS.bodyMaxCodePoints });

export const SendMessage = Type.Object(
  {
    clientMsgId: Type.String({ pattern: CLIENT_MSG_ID_PATTERN }),
    body: Body,
    attachments: Type.Optional(Type.Array(Attachment, { maxItems: LIMITS.attachmentsMax })),
    replyTo: Type.Optional(Uuid),
    mentions: Type.Optional(Type.Array(UserId, { maxItems: LIMITS.mentionsMax, uniqueItems: true })),
  },
  closed,
);
export type SendMessage = Static<typeof SendMessage>;

export const EditMessage = Type.Object({ body: Body }, closed);
export type EditMessage = Static<typeof EditMessage>;

export const Emoji = Type.String({ pattern: EMOJI_PATTERN });
export const AddReaction = Type.Object({ emoji: Emoji }, closed);

export const Title = Type.Union([Type.String({ minLength: 1, maxLength: LIMITS.titleMaxCodePoints }), Type.Null()]);

export const CreateConversation = Type.Object(
  {
    kind: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
    members: Type.Array(UserId, { maxItems: LIMITS.groupCreateMembersMax, uniqueItems: true }),
    title: Type.Optional(Title),
    metadata: Type.Optional(Metadata),
  },
  closed,
);
export type CreateConversation = Static<typeof CreateConversation>;

export const PatchConversation = Type.Object(
  { title: Type.Optional(Title), metadata: Type.Optional(Metadata) },
  { ...closed, minProperties: 1 },
);
export type PatchConversation = Static<typeof PatchConversation>;

export const AddMembers = Type.Object(
  {
    userIds: Type.Array(UserId, { minItems: 1, maxItems: LIMITS.membersPerCall, uniqueItems: true }),
    role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('member')])),
  },
  closed,
);
export type AddMembers = Static<typeof AddMembers>;

export const SetRole = Type.Object({ role: Type.Union([Type.Literal('admin'), Type.Literal('member')]) }, closed);

export const Mute = Type.Object({ until: Type.Optional(Type.String({ format: 'date-time' })) }, closed);

/** Marker moves: `seq` omitted means "up to the latest". */
export const Marker = Type.Object({ seq: Type.Optional(Seq) }, closed);

export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    after: Type.Optional(Seq),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.historyMax })),
    replyTo: Type.Optional(Uuid),
  },
  closed,
);
export type HistoryQuery = Static<typeof HistoryQuery>;

/** A page of a message's receipts: the other members by user id, `cursor` from the page before. */
export const ReceiptsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.receiptsMax })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  closed,
);
export type ReceiptsQuery = Static<typeof ReceiptsQuery>;

/** A page of a conversation's members in join order, `cursor` from the page before. */
export const MemberListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.memberPageMax })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })),
  },
  closed,
);
export type MemberListQuery = Static<typeof MemberListQuery>;

export const ConversationListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.conversationsMax })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    archived: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type ConversationListQuery = Static<typeof ConversationListQuery>;

/** One plain address: no display name, no spaces or control characters, a dotted domain. */
export const EMAIL_PATTERN = '^[^\\s@<>()",;:]+@[^\\s@<>()",;:]+\\.[^\\s@<>()",;:]+$';

export const UpsertUser = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    picture: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' }), Type.Null()])),
    /** Where email digests go; never shown to other users. */
    email: Type.Optional(Type.Union([Type.String({ maxLength: 254, pattern: EMAIL_PATTERN }), Type.Null()])),
    metadata: Type.Optional(Metadata),
  },
  closed,
);
export type UpsertUser = Static<typeof UpsertUser>;

export { NOTIFICATION_TYPES };
export const NotificationTypeSchema = Type.Union(NOTIFICATION_TYPES.map((t) => Type.Literal(t)));
export const Priority = Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high'), Type.Literal('urgent')]);

/** Admin send: to one or many users, retryable with an idempotency key. */
export const SendNotification = Type.Object(
  {
    userIds: Type.Array(UserId, { minItems: 1, maxItems: 1000, uniqueItems: true }),
    type: NotificationTypeSchema,
    title: Type.String({ minLength: 1, maxLength: 200 }),
    body: Type.String({ minLength: 1, maxLength: 2000 }),
    data: Type.Optional(Metadata),
    actionUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^(https?://|/)' })),
    priority: Type.Optional(Priority),
    idempotencyKey: Type.Optional(Type.String({ pattern: CLIENT_MSG_ID_PATTERN })),
  },
  closed,
);
export type SendNotification = Static<typeof SendNotification>;

export const NotificationListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    unread: Type.Optional(Type.Boolean()),
    type: Type.Optional(NotificationTypeSchema),
  },
  closed,
);
export type NotificationListQuery = Static<typeof NotificationListQuery>;

export const DeadLetterQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  closed,
);
export type DeadLetterQuery = Static<typeof DeadLetterQuery>;

const Hhmm = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });
const ChannelSwitches = Type.Object(
  { inApp: Type.Optional(Type.Boolean()), email: Type.Optional(Type.Boolean()), push: Type.Optional(Type.Boolean()) },
  closed,
);

/** The whole preferences document (PUT replaces it); omitted parts take their defaults. */
export const NotificationPreferencesBody = Type.Object(
  {
    types: Type.Optional(Type.Record(Type.String(), ChannelSwitches, { propertyNames: NotificationTypeSchema, maxProperties: 20 })),
    quietHours: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean(),
          timeZone: Type.String({ minLength: 1, maxLength: 64 }),
          windows: Type.Array(
            Type.Object(
              { days: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, uniqueItems: true }), start: Hhmm, end: Hhmm },
              closed,
            ),
            { maxItems: 14 },
          ),
        },
        closed,
      ),
    ),
    doNotDisturb: Type.Optional(Type.Boolean()),
    mentionsInMuted: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type NotificationPreferencesBody = Static<typeof NotificationPreferencesBody>;

export const RegisterDevice = Type.Union([
  Type.Object(
    { platform: Type.Union([Type.Literal('apns'), Type.Literal('fcm'), Type.Literal('expo')]), token: Type.String({ minLength: 8, maxLength: 4096, pattern: '^[\\x21-\\x7e]+$' }) },
    closed,
  ),
  Type.Object(
    {
      platform: Type.Literal('webpush'),
      subscription: Type.Object(
        {
          endpoint: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' }),
          keys: Type.Object({ p256dh: Type.String({ minLength: 16, maxLength: 200, pattern: '^[A-Za-z0-9_-]+=*$' }), auth: Type.String({ minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9_-]+=*$' }) }, closed),
          expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
        },
        closed,
      ),
    },
    closed,
  ),
]);
export type RegisterDevice = Static<typeof RegisterDevice>;
