import { type Static, Type } from '@sinclair/typebox';
import { CLIENT_MSG_ID_PATTERN, EMOJI_PATTERN, LIMITS, USER_ID_PATTERN } from './limits.ts';

/**
 * Payload schemas of the wire contract. REST routes and realtime commands validate against
 * these same objects before any service runs, so a payload means the same on every gateway.
 * Objects are closed (additionalProperties: false): an unknown key is an error, not ignored.
 */

const closed = { additionalProperties: false } as const;

export const UserId = Type.String({ pattern: USER_ID_PATTERN });
/** Canonical UUID text only (ajv's `uuid` format also takes `urn:uuid:`, which Postgres refuses). */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const Uuid = Type.String({ pattern: UUID_PATTERN });
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

export const ConversationListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.conversationsMax })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    archived: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type ConversationListQuery = Static<typeof ConversationListQuery>;

export const UpsertUser = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    picture: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' }), Type.Null()])),
    metadata: Type.Optional(Metadata),
  },
  closed,
);
export type UpsertUser = Static<typeof UpsertUser>;
