/**
 * The shapes that leave the server: REST bodies, realtime event payloads, the sync log.
 * Fields may be added, never renamed. The server's domain types re-export these, and the
 * SDK (`client/`) and the web app import them from here, never from `src/`.
 *
 * This file holds types and plain constants only (no schema library), so a client bundle
 * that imports it pays nothing at run time.
 */

export type Role = 'owner' | 'admin' | 'member';
export type ConversationKind = 'direct' | 'group';
export type MessageStatus = 'sent' | 'delivered' | 'read';

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

/** Every event that is part of a conversation's log carries where it belongs and the seq it took. */
interface Sequenced {
  conversationId: string;
  seq: number;
}

/** The payload of each event of a conversation's log, by event name. */
export interface ConversationEventPayloads {
  'message:new': Sequenced & { message: Message };
  'message:updated': Sequenced & { message: Message };
  /** `message` is the tombstone. */
  'message:deleted': Sequenced & { messageId: string; message: Message };
  'reaction:updated': Sequenced & {
    messageId: string;
    userId: string;
    emoji: string;
    action: 'add' | 'remove';
    reactions: ReactionSummary[];
  };
  'member:joined': Sequenced & { member: Member; by: string };
  'member:updated': Sequenced & { member: Member; by: string };
  /** The removed user gets it too, then nothing more of the conversation. */
  'member:left': Sequenced & { userId: string; by: string };
  'conversation:updated': Sequenced & { conversation: ConversationInfo; by: string };
}
export type ConversationEventName = keyof ConversationEventPayloads;

/**
 * One entry of a conversation's log. `type` and `data` are exactly the live realtime
 * event, so sync replays the log and live delivery publishes it, with one shape.
 */
export type ConversationEvent = {
  [T in ConversationEventName]: { type: T; conversationId: string; seq: number; data: ConversationEventPayloads[T] };
}[ConversationEventName];

/** The answer to `sync` (realtime command, `GET|POST /v1/sync`). */
export interface SyncResult {
  /** Log entries after each cursor, in seq order per conversation: exactly the live events. */
  changes: ConversationEvent[];
  /** True when `limit` cut the page: call again with the cursors advanced. */
  hasMore: boolean;
  /** Too far behind (more than the sync limit): reload recent history instead. */
  reset: string[];
  /** Conversations in the cursors the caller is no longer a member of: drop them. */
  removed: string[];
}

/** Per-user state changes that take no seq (they are not part of the conversation log). */
export interface ReadStateChange {
  conversationId: string;
  userId: string;
  readSeq: number;
  deliveredSeq: number;
  unreadCount: number;
  totalUnread: number;
  /** The conversation's last seq when `unreadCount` was read: the count includes every event up to it. */
  lastSeq: number;
}

/** `GET /v1/me/unread`. */
export interface UnreadCounts {
  /** Unread over the conversations that are not muted. */
  totalUnread: number;
  /** Unread per conversation id (those with none left out). */
  conversations: Record<string, number>;
  /**
   * Each of your conversations' last seq when the counts were read: a count includes every
   * event up to it, and none after. A client that applied later events live adds what they
   * changed; one yet to receive earlier events must not count them again.
   */
  lastSeqs: Record<string, number>;
}

/** `unread:update`: to every device of the reader. */
export type UnreadUpdate = Pick<ReadStateChange, 'conversationId' | 'unreadCount' | 'totalUnread' | 'readSeq' | 'lastSeq'>;
/** `receipt:updated`: to the other members. */
export type ReceiptUpdate = Pick<ReadStateChange, 'conversationId' | 'userId' | 'readSeq' | 'deliveredSeq'>;

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

export const NOTIFICATION_TYPES = [
  'message',
  'mention',
  'reaction',
  'group_invite',
  'group_update',
  'contact_request',
  'contact_accept',
  'call',
  'forward',
  'system',
] as const;
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
