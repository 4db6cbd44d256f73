/**
 * The server's domain types. The wire shapes (what leaves the server) live in
 * `protocol/types.ts`, shared with the SDK; they are re-exported here so the server keeps
 * one import path. Only server-side shapes are defined in this file.
 */
export type {
  Attachment,
  ChannelPrefs,
  Conversation,
  ConversationEvent,
  ConversationEventName,
  ConversationEventPayloads,
  ConversationInfo,
  ConversationKind,
  CustomStatus,
  Device,
  DevicePlatform,
  LockUpdate,
  Member,
  Message,
  MessageStatus,
  Notification,
  NotificationPreferences,
  NotificationPriority,
  NotificationType,
  Presence,
  PresenceStatus,
  QuietWindow,
  ReactionSummary,
  ReadStateChange,
  Role,
  SyncResult,
  TypingUpdate,
  UnreadCounts,
  User,
} from '../../protocol/types.ts';
export { NOTIFICATION_TYPES } from '../../protocol/types.ts';

export interface Actor {
  userId: string;
  /** The connection acting, on realtime gateways: it gets its answer in the ack, not as an event. */
  deviceId?: string;
  /** True for server-to-server calls made with an admin API key. */
  admin?: boolean;
}

/** What one push says, whatever the platform; each channel maps it to its provider's format. */
export interface PushMessage {
  title: string;
  body: string;
  data?: Record<string, unknown>;
  badge?: number;
  /** Pushes with one key replace each other on the device (one per conversation). */
  collapseKey?: string;
  priority: 'normal' | 'high';
  ttlSeconds?: number;
}
