import { NOTIFICATION_TYPES } from '../../protocol/schemas.ts';

/**
 * The shapes that leave the server. Fields may be added, never renamed: the SDK, the
 * realtime events and the sync log all carry these exact objects.
 */

export type Role = 'owner' | 'admin' | 'member';
export type ConversationKind = 'direct' | 'group';
export type MessageStatus = 'sent' | 'delivered' | 'read';

export interface Actor {
  userId: string;
  /** The connection acting, on realtime gateways: it gets its answer in the ack, not as an event. */
  deviceId?: string;
  /** True for server-to-server calls made with an admin API key. */
  admin?: boolean;
}

export interface User {
  id: string;
  name: string | null;
  picture: string | null;
}

export interface Attachment {
  url: string;
  name?: string;
  size?: number;
  mimeType?: string;
}

export interface ReactionSummary {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  body: string;
  attachments: Attachment[];
  replyTo: string | null;
  replyCount: number;
  mentions: string[];
  reactions: ReactionSummary[];
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  /** Only on the caller's own messages: how far the other members got. */
  status?: MessageStatus;
}

export interface Member {
  userId: string;
  name: string | null;
  picture: string | null;
  role: Role;
  joinedAt: string;
  readSeq: number;
  deliveredSeq: number;
}

export interface Conversation {
  id: string;
  kind: ConversationKind;
  title: string | null;
  metadata: Record<string, unknown>;
  members: Member[];
  memberCount: number;
  lastMessage: Message | null;
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
  lastActivityAt: string;
  /** The caller's own view of the conversation. */
  unreadCount: number;
  role: Role;
  archived: boolean;
  mutedUntil: string | null;
}

/** A conversation as every member sees it (no per-caller fields), carried by events. */
export type ConversationInfo = Pick<Conversation, 'id' | 'kind' | 'title' | 'metadata' | 'lastSeq' | 'updatedAt'>;

/**
 * One entry of a conversation's log. `type` and `data` are exactly the live realtime
 * event, so sync replays the log and live delivery publishes it, with one shape.
 */
export type ConversationEvent =
  | { type: 'message:new'; conversationId: string; seq: number; data: { conversationId: string; seq: number; message: Message } }
  | { type: 'message:updated'; conversationId: string; seq: number; data: { conversationId: string; seq: number; message: Message } }
  | { type: 'message:deleted'; conversationId: string; seq: number; data: { conversationId: string; seq: number; messageId: string; message: Message } }
  | {
      type: 'reaction:updated';
      conversationId: string;
      seq: number;
      data: {
        conversationId: string;
        seq: number;
        messageId: string;
        userId: string;
        emoji: string;
        action: 'add' | 'remove';
        reactions: ReactionSummary[];
      };
    }
  | { type: 'member:joined'; conversationId: string; seq: number; data: { conversationId: string; seq: number; member: Member; by: string } }
  | { type: 'member:updated'; conversationId: string; seq: number; data: { conversationId: string; seq: number; member: Member; by: string } }
  | { type: 'member:left'; conversationId: string; seq: number; data: { conversationId: string; seq: number; userId: string; by: string } }
  | { type: 'conversation:updated'; conversationId: string; seq: number; data: { conversationId: string; seq: number; conversation: ConversationInfo; by: string } };

/** Per-user state changes that take no seq (they are not part of the conversation log). */
export interface ReadStateChange {
  conversationId: string;
  userId: string;
  readSeq: number;
  deliveredSeq: number;
  unreadCount: number;
  totalUnread: number;
}

export type PresenceStatus = 'online' | 'away' | 'busy' | 'dnd' | 'offline';

export interface CustomStatus {
  text?: string;
  emoji?: string;
  /** Cleared by itself after this time. */
  expiresAt?: string;
}

export interface Presence {
  userId: string;
  /** `offline` when no device is connected; otherwise the status the user chose (default online). */
  status: PresenceStatus;
  customStatus: CustomStatus | null;
  /** When the last device disconnected; null while online or never seen. */
  lastSeenAt: string | null;
}

/** Realtime-only signals: not part of any conversation's log, so they take no seq. */
export interface TypingUpdate {
  conversationId: string;
  userId: string;
  typing: boolean;
}

export interface LockUpdate {
  conversationId: string;
  messageId: string;
  userId: string;
  locked: boolean;
  expiresAt: string | null;
}

export { NOTIFICATION_TYPES };
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];
export type NotificationPriority = 'low' | 'normal' | 'high' | 'urgent';

export interface Notification {
  id: string;
  userId: string;
  type: NotificationType;
  priority: NotificationPriority;
  title: string;
  body: string;
  data: Record<string, unknown>;
  actionUrl: string | null;
  createdAt: string;
  readAt: string | null;
  expiresAt: string | null;
}

export type DevicePlatform = 'apns' | 'fcm' | 'expo' | 'webpush';

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

export interface Device {
  id: string;
  platform: DevicePlatform;
  /** APNs, FCM or Expo token; for Web Push, the subscription endpoint. */
  token: string;
  keys: { p256dh: string; auth: string } | null;
  createdAt: string;
}

export interface QuietWindow {
  /** 0 = Sunday ... 6 = Saturday, in the user's time zone; the window starts on these days. */
  days: number[];
  /** "HH:MM"; a window whose end is before its start runs past midnight. */
  start: string;
  end: string;
}

export interface ChannelPrefs {
  inApp: boolean;
  email: boolean;
  push: boolean;
}

export interface NotificationPreferences {
  /** Per notification type; types left out use all channels. */
  types: Partial<Record<NotificationType, Partial<ChannelPrefs>>>;
  quietHours: { enabled: boolean; timeZone: string; windows: QuietWindow[] };
  doNotDisturb: boolean;
  /** Mentions still notify in muted conversations. */
  mentionsInMuted: boolean;
}
