import type { ErrorBody } from './errors.ts';
import type {
  Attachment,
  ConversationEventPayloads,
  CustomStatus,
  LockUpdate,
  Message,
  Notification,
  NotificationType,
  Presence,
  ReadStateChange,
  ReceiptUpdate,
  SyncResult,
  TypingUpdate,
  UnreadUpdate,
} from './types.ts';

/**
 * The realtime contract as types: each server event's payload and each command's data and
 * ack data, by name, the way socket.io's `Server<ListenEvents, EmitEvents>` types its events.
 * Both gateways and the fan-out are typed against these maps, and so is the SDK. Types
 * only: `protocol/events.ts` holds the schemas that validate commands at run time (and
 * checks that they agree with `CommandPayloads`).
 */

/** Server-to-client events and their payloads. */
export interface ServerEvents extends ConversationEventPayloads {
  /** First event of every connection. */
  ready: { userId: string; connectionId: string };
  'receipt:updated': ReceiptUpdate;
  'unread:update': UnreadUpdate;
  'typing:update': TypingUpdate;
  'message:locked': LockUpdate;
  'presence:update': Presence;
  'notification:new': { notification: Notification; unreadCount: number };
  /** The inbox changed elsewhere (read, deleted, or a type this connection did not subscribe to). */
  'notification:updated': { unreadCount: number };
  /** Socket.IO only: the token expired; the server disconnects, reconnect with a new token. */
  'session:expired': { code: 'token_expired' };
  /**
   * Live events from other instances may have been missed (the server's bus subscription
   * dropped and came back, or a peer could not publish): sync every conversation now.
   */
  'sync:required': { reason: string };
}
export type ServerEventName = keyof ServerEvents;

interface MessageRef {
  messageId: string;
}
interface ConversationRef {
  conversationId: string;
}
interface Marker extends ConversationRef {
  /** Omitted: up to the latest. */
  seq?: number;
}
interface ReactionRef extends MessageRef {
  emoji: string;
}

/** Client-to-server commands and their data. */
export interface CommandPayloads {
  'message:send': ConversationRef & { clientMsgId: string; body: string; attachments?: Attachment[]; replyTo?: string; mentions?: string[] };
  'message:edit': MessageRef & { body: string };
  'message:delete': MessageRef;
  'reaction:add': ReactionRef;
  'reaction:remove': ReactionRef;
  'typing:start': ConversationRef;
  'typing:stop': ConversationRef;
  'conversation:read': Marker;
  'conversation:delivered': Marker;
  'presence:set': { status?: 'online' | 'away' | 'busy' | 'dnd'; customStatus?: CustomStatus | null };
  'presence:get': { userIds: string[] };
  /** `cursors`: the last seq applied, by conversation id. */
  sync: { cursors: Record<string, number>; limit?: number };
  heartbeat: Record<string, never>;
  'message:lock': MessageRef;
  'message:unlock': MessageRef;
  'notification:read': { notificationId: string };
  /** This connection's `notification:new` only for these types (null: all); others still update the count. */
  'notification:subscribe': { types: NotificationType[] | null };
}
export type CommandName = keyof CommandPayloads;

/** What each command's successful ack carries. */
export interface CommandResults {
  /** The stored message: the original one for a repeated clientMsgId. */
  'message:send': Message;
  'message:edit': Message;
  /** The tombstone. */
  'message:delete': Message;
  'reaction:add': Message;
  'reaction:remove': Message;
  'typing:start': Record<string, never>;
  'typing:stop': Record<string, never>;
  'conversation:read': ReadStateChange;
  'conversation:delivered': ReadStateChange;
  'presence:set': Presence;
  'presence:get': { presence: Presence[] };
  sync: SyncResult;
  heartbeat: { at: string };
  'message:lock': { messageId: string; expiresAt: string };
  'message:unlock': { messageId: string };
  'notification:read': { notification: Notification; unreadCount: number };
  'notification:subscribe': { types: NotificationType[] | null };
}

/** Every command's answer. */
export type Ack<T = unknown> = { ok: true; data: T } | { ok: false; error: ErrorBody };

/** Plain WebSocket frames, client to server: a command, with an `id` to match its ack. */
export type WsCommandFrame = { [C in CommandName]: { type: C; id?: string | number; data: CommandPayloads[C] } }[CommandName];

/** Plain WebSocket frames, server to client. */
export type WsServerFrame =
  | { [E in ServerEventName]: { type: E; data: ServerEvents[E] } }[ServerEventName]
  | ({ type: 'ack'; id: string | number | null } & Ack)
  /** A frame that could not be read at all (bad JSON, not an object): no id to answer. */
  | { type: 'error'; error: ErrorBody };
