import { type Static, Type } from '@sinclair/typebox';
import type { CommandPayloads, ServerEventName } from './event-map.ts';
import { Emoji, NotificationTypeSchema, Seq, SendMessage, UUID_PATTERN, Uuid } from './schemas.ts';

/**
 * The realtime contract: the same command and event names on Socket.IO, the plain
 * WebSocket at /v1/ws and GraphQL. Every command is answered by an ack; every event
 * about a conversation carries its `conversationId` (and `seq` when it took one).
 * The payload types by name live in `event-map.ts` (types only, for the SDK); the
 * schemas here validate commands at run time and are checked to agree with them.
 */
export type { Ack, CommandPayloads, CommandResults, ServerEventName, ServerEvents, WsCommandFrame, WsServerFrame } from './event-map.ts';
export { CLOSE_CODES, isTerminalCloseCode, negotiateVersion, PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from './connection.ts';

const closed = { additionalProperties: false } as const;
const MessageRef = Type.Object({ messageId: Uuid }, closed);
const ConversationRef = Type.Object({ conversationId: Uuid }, closed);
const MarkerCmd = Type.Object({ conversationId: Uuid, seq: Type.Optional(Seq) }, closed);

export const PresenceStatus = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('dnd')]);
export const CustomStatus = Type.Object(
  {
    text: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    emoji: Type.Optional(Emoji),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  closed,
);
export const SetPresence = Type.Object(
  { status: Type.Optional(PresenceStatus), customStatus: Type.Optional(Type.Union([CustomStatus, Type.Null()])) },
  { ...closed, minProperties: 1 },
);
export type SetPresence = Static<typeof SetPresence>;

export const SyncCmd = Type.Object(
  {
    // Keyed by conversation id, in any case; `x-lowercase-keys` makes them canonical (docs/ids.md).
    cursors: Type.Record(Type.String(), Seq, { maxProperties: 10_000, propertyNames: { pattern: UUID_PATTERN }, 'x-lowercase-keys': true }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  closed,
);
export type SyncCmd = Static<typeof SyncCmd>;

/** Client-to-server commands and their payload schemas. */
export const COMMANDS = {
  'message:send': Type.Object({ conversationId: Uuid, ...SendMessage.properties }, closed),
  'message:edit': Type.Object({ messageId: Uuid, body: SendMessage.properties.body }, closed),
  'message:delete': MessageRef,
  'reaction:add': Type.Object({ messageId: Uuid, emoji: Emoji }, closed),
  'reaction:remove': Type.Object({ messageId: Uuid, emoji: Emoji }, closed),
  'typing:start': ConversationRef,
  'typing:stop': ConversationRef,
  'conversation:read': MarkerCmd,
  'conversation:delivered': MarkerCmd,
  'presence:set': SetPresence,
  'presence:get': Type.Object({ userIds: Type.Array(Type.String({ maxLength: 128 }), { minItems: 1, maxItems: 200, uniqueItems: true }) }, closed),
  sync: SyncCmd,
  heartbeat: Type.Object({}, closed),
  'message:lock': MessageRef,
  'message:unlock': MessageRef,
  'notification:read': Type.Object({ notificationId: Uuid }, closed),
  /** This connection's `notification:new` only for these types (null: all); others still update the count. */
  'notification:subscribe': Type.Object({ types: Type.Union([Type.Array(NotificationTypeSchema, { uniqueItems: true, maxItems: 20 }), Type.Null()]) }, closed),
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandData<C extends CommandName> = Static<(typeof COMMANDS)[C]>;

// The schemas and the SDK's types describe the same payloads: a change to one without the
// other fails the typecheck here, naming the commands that disagree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Disagreeing =
  | { [C in CommandName]: C extends keyof CommandPayloads ? (Same<CommandData<C>, CommandPayloads[C]> extends true ? never : C) : C }[CommandName]
  | Exclude<keyof CommandPayloads, CommandName>;
type Assert<T extends true> = T;
export type CommandTypesAgree = Assert<[Disagreeing] extends [never] ? true : Disagreeing>;

/** Server-to-client events. */
export const SERVER_EVENTS = [
  'message:new',
  'message:updated',
  'message:deleted',
  'message:locked',
  'reaction:updated',
  'receipt:updated',
  'typing:update',
  'presence:update',
  'conversation:updated',
  'member:joined',
  'member:updated',
  'member:left',
  'unread:update',
  'notification:new',
  /** The user's notification read state changed on another device: the new unread count. */
  'notification:updated',
  /** Socket.IO only: the token expired; the server disconnects, reconnect with a new token. */
  'session:expired',
  /**
   * `{ reason }`: live events from other instances may have been missed (the server's bus
   * subscription dropped and came back): sync every conversation now, as after a reconnect.
   */
  'sync:required',
] as const satisfies readonly ServerEventName[];
