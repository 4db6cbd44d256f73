import type { OthersMarkers } from '../domain/roles.ts';
import type { JobQueue, JobRepo } from './job-queue.ts';
import type {
  Device,
  DevicePlatform,
  Notification,
  NotificationPreferences,
  NotificationType,
  Conversation,
  ConversationEvent,
  ConversationInfo,
  ConversationKind,
  Member,
  Message,
  ReactionSummary,
  Role,
  User,
} from '../domain/types.ts';

/**
 * The store port services see. One SQL implementation serves both engines (see db.ts);
 * the same operations are available outside a transaction and inside one.
 *
 * Concurrency rule: every write to a conversation's log first takes that conversation's
 * row lock (takeSeq / lockAsMember), so writes of one conversation are serialised and
 * checks made after the lock see every earlier committed change.
 */
export interface Repos {
  users: UserRepo;
  conversations: ConversationRepo;
  members: MemberRepo;
  messages: MessageRepo;
  events: EventRepo;
  notifications: NotificationRepo;
  devices: DeviceRepo;
  notifyWork: NotifyWorkRepo;
  /** Jobs enqueued here commit or roll back with the transaction. */
  jobs: JobRepo;
}

export interface Store extends Repos {
  /** The delivery job queue, on the same database. */
  jobs: JobQueue;
  readonly engine: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /** Storage reachable and every migration applied. */
  isReady(): Promise<boolean>;
  /** Calls `fn` after each group-committed send statement (for metrics); returns the unsubscribe. */
  observeSends(fn: (batch: SendBatchObservation) => void): () => void;
  close(): Promise<void>;
}

/** One statement of the send batcher (src/storage/sql/send-batch.ts), as it went. */
export interface SendBatchObservation {
  /** Sends in the statement. */
  size: number;
  /** Each send's wait from its hand-over to the batcher until its statement was written, in ms. */
  queuedMs: number[];
  /** From the statement's write until this process read its answer, commit included, in ms. */
  roundTripMs: number;
}

export interface UserRepo {
  /** Fields left undefined keep their stored value; null clears. */
  upsert(u: { id: string; name?: string | null; picture?: string | null; email?: string | null; metadata?: Record<string, unknown> }, at: Date): Promise<User>;
  /** Creates bare profiles for ids not seen yet (members added before their first login). */
  ensure(ids: string[], at: Date): Promise<void>;
  get(id: string): Promise<(User & { email: string | null; metadata: Record<string, unknown> }) | null>;
  /** Public profiles of those of `ids` that exist, in one query (GraphQL's per-request loader). */
  getMany(ids: string[]): Promise<User[]>;
}

export interface NewConversation {
  id: string;
  kind: ConversationKind;
  directKey: string | null;
  title: string | null;
  metadata: Record<string, unknown>;
  createdBy: string;
  at: Date;
}

export interface MemberLock {
  kind: ConversationKind;
  role: Role;
  lastSeq: number;
  lastMessageSeq: number;
}

export interface ConversationPage {
  archived: boolean;
  limit: number;
  before: { at: string; id: string } | null;
}

export interface ConversationRepo {
  /** False when a direct conversation for that pair already exists. */
  insert(c: NewConversation): Promise<boolean>;
  findDirect(directKey: string): Promise<string | null>;
  /** Locks the conversation, then reads the caller's role (so it reflects every change committed before the lock); null for non-members. */
  lockAsMember(conversationId: string, userId: string): Promise<MemberLock | null>;
  /** Takes the next seq; call only while holding the lock (lockAsMember) in the same transaction. */
  takeSeq(conversationId: string, opts: { message: boolean; at: Date }): Promise<number>;
  /** lockAsMember and takeSeq in one round trip (changes to existing messages). */
  takeSeqAsMember(conversationId: string, userId: string, opts: { message: boolean; at: Date }): Promise<(MemberLock & { seq: number }) | null>;
  getFor(conversationId: string, userId: string): Promise<Conversation | null>;
  listFor(userId: string, page: ConversationPage): Promise<Conversation[]>;
  updateInfo(conversationId: string, patch: { title?: string | null; metadata?: Record<string, unknown> }, at: Date): Promise<ConversationInfo>;
}

/** What `unreadSummary` reads, in one snapshot. */
export interface UnreadSummary {
  total: number;
  conversations: Record<string, number>;
  lastSeqs: Record<string, number>;
}

export interface MemberRepo {
  /** New members start with every existing message read (history before joining is not unread). */
  insert(conversationId: string, members: { userId: string; role: Role }[], at: Date, readSeq: number): Promise<void>;
  get(conversationId: string, userId: string): Promise<Member | null>;
  list(conversationId: string): Promise<Member[]>;
  /**
   * Up to `limit` members in join order (then by user id), from the first after `after` (null
   * for the first page), along the join-order index however large the group; each with its
   * join time in microseconds since 1970 (the page's keyset); and how many members there are.
   * Null when `viewer` is not a member: the check and the page are one read.
   */
  page(
    conversationId: string,
    viewer: string,
    opts: { after: { joinedAtUs: string; userId: string } | null; limit: number },
  ): Promise<{ members: { member: Member; joinedAtUs: string }[]; memberCount: number } | null>;
  /**
   * The members other than `userId`: how many, and their lowest read and delivered markers
   * (the status of `userId`'s own messages), aggregated in the database rather than read member by member.
   */
  othersMarkers(conversationId: string, userId: string): Promise<OthersMarkers>;
  /**
   * Up to `limit` members other than `excluding`, by user id, from the first after `after`
   * ('' for the first page): their read and delivered markers. A page of receipts, read along
   * the members' key however large the group.
   */
  markersPage(conversationId: string, opts: { excluding: string; after: string; limit: number }): Promise<{ userId: string; readSeq: number; deliveredSeq: number }[]>;
  /**
   * Who inherits a group that has no owner left: the longest-standing admin, else member, so a
   * group never ends up with nobody able to manage it. Null while an owner remains, or nobody does.
   */
  heir(conversationId: string): Promise<string | null>;
  remove(conversationId: string, userId: string): Promise<boolean>;
  setRole(conversationId: string, userId: string, role: Role): Promise<Member | null>;
  setSettings(
    conversationId: string,
    userId: string,
    s: { archived?: boolean; mutedUntil?: Date | null },
  ): Promise<{ archived: boolean; mutedUntil: string | null } | null>;
  /** Moves markers forward only, clamped to the conversation's last seq; null for non-members. */
  advanceMarkers(conversationId: string, userId: string, seq: number, which: 'read' | 'delivered'): Promise<{ readSeq: number; deliveredSeq: number } | null>;
  /**
   * Unread per conversation (non-zero only), the total over unmuted ones, and each of the
   * user's conversations' last seq in the same snapshot: a count includes every event up to it.
   */
  unreadSummary(userId: string, now: Date): Promise<UnreadSummary>;
  /** Each user's unread total over their unmuted conversations (unreadSummary's total: a push's badge); absent: no conversations. */
  unreadTotals(userIds: string[], now: Date): Promise<Map<string, number>>;
  filterMembers(conversationId: string, userIds: string[]): Promise<string[]>;
  /** The user's conversations with their log positions (what sync compares cursors with). */
  positionsOf(userId: string): Promise<{ conversationId: string; lastSeq: number }[]>;
  /** Those of `among` sharing at least one conversation with `userId` (whose presence they may see). */
  contactsOf(userId: string, among: string[]): Promise<string[]>;
  /** How many conversations have at least one of `userIds` as a member (operators' status). */
  conversationsWith(userIds: string[]): Promise<number>;
}

export type SendOutcome =
  | { outcome: 'created'; seq: number }
  | { outcome: 'duplicate'; messageId: string }
  | { outcome: 'not_member' | 'invalid_mention' | 'invalid_reply' };

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit: number;
  replyTo?: string;
}

export interface MessageRepo {
  byClientMsgId(conversationId: string, senderId: string, clientMsgId: string): Promise<Message | null>;
  get(id: string): Promise<Message | null>;
  /**
   * Sends atomically: under the conversation's lock, checks membership, the idempotency
   * key, mentions and the reply target, then takes the next seq, inserts the message and
   * its log entry, and moves the sender's markers. `message.seq` is ignored (assigned here).
   */
  send(message: Message): Promise<SendOutcome>;
  history(conversationId: string, q: HistoryQuery): Promise<{ messages: Message[]; hasMore: boolean }>;
  edit(id: string, body: string, at: Date): Promise<Message>;
  softDelete(id: string, at: Date): Promise<Message>;
  /** Adjusts the parent's reply count; false when the parent is not in that conversation. */
  bumpReplyCount(parentId: string, conversationId: string, delta: 1 | -1): Promise<boolean>;
  addReaction(messageId: string, userId: string, emoji: string, at: Date): Promise<boolean>;
  removeReaction(messageId: string, userId: string, emoji: string): Promise<boolean>;
  reactions(messageId: string): Promise<ReactionSummary[]>;
}

export interface EventRepo {
  append(event: ConversationEvent, at: Date): Promise<void>;
  /** The log after `afterSeq`, in seq order. */
  since(conversationId: string, afterSeq: number, limit: number): Promise<ConversationEvent[]>;
}

export interface NotificationPage {
  limit: number;
  before: { at: string; id: string } | null;
  unread?: boolean;
  type?: NotificationType;
}

export interface NotificationRepo {
  /** Inserts for each user; with an idempotency key, a user who has it already gets nothing new. */
  insertMany(rows: Omit<Notification, 'readAt' | 'expiresAt'>[], idempotencyKey: string | null): Promise<Notification[]>;
  /** The existing notifications of an idempotency key, per user. */
  byIdempotencyKey(userIds: string[], key: string): Promise<Notification[]>;
  list(userId: string, page: NotificationPage, now: Date): Promise<Notification[]>;
  /** Null when not the user's, deleted or expired. */
  get(userId: string, id: string, now: Date): Promise<Notification | null>;
  /** For each (user, entry), whether it is still in the inbox and unread (what a push announcing it waits on). */
  unreadAmong(refs: { userId: string; id: string }[], now: Date): Promise<boolean[]>;
  unreadCount(userId: string, now: Date): Promise<number>;
  /** Marks read (read ones expire `keepReadMs` later); null when not the user's or already gone. */
  markRead(userId: string, id: string, now: Date, keepReadMs: number): Promise<Notification | null>;
  markAllRead(userId: string, now: Date, keepReadMs: number): Promise<number>;
  delete(userId: string, id: string): Promise<boolean>;
  deleteAll(userId: string): Promise<number>;
  /** Stored preferences of each user who has any. */
  preferences(userIds: string[]): Promise<Map<string, NotificationPreferences>>;
  putPreferences(userId: string, prefs: NotificationPreferences, at: Date): Promise<void>;
}

export interface DeviceRepo {
  /** Registers (or moves to this user) a device; the same token gives the same device. */
  upsert(userId: string, d: { id: string; platform: DevicePlatform; token: string; keys: Device['keys'] }, at: Date): Promise<Device>;
  delete(userId: string, id: string): Promise<boolean>;
  /** Each (user, device id)'s device; null where it is gone (unregistered, or moved to another user). */
  getMany(refs: { userId: string; id: string }[]): Promise<(Device | null)[]>;
  list(userId: string): Promise<Device[]>;
  /** Each user's devices, oldest first; absent: none. */
  listOf(userIds: string[]): Promise<Map<string, Device[]>>;
  /** Those of `userIds` with at least one device on one of `platforms`. */
  owners(userIds: string[], platforms: ReadonlySet<DevicePlatform>): Promise<Set<string>>;
}

/** Notification work recorded with the change that caused it (see migration 004). */
export interface OutboxItem {
  kind: 'message' | 'reaction' | 'group_invite';
  conversationId: string;
  seq: number;
  actorId: string;
  /** The message, for messages and reactions. */
  messageId: string | null;
  /** Who may be notified, as the conversation's members were at commit. */
  recipients: string[];
  mentions: string[];
  data: Record<string, unknown>;
  createdAt: string;
}

export interface UnseenMessage {
  seq: number;
  senderId: string;
  senderName: string | null;
  body: string;
  mentioned: boolean;
}

/** A member's messages not read and not pushed yet (newest `limit`, oldest first), with totals. */
export interface UnseenMessages {
  kind: 'direct' | 'group';
  title: string | null;
  mutedUntil: string | null;
  archived: boolean;
  total: number;
  mentions: number;
  messages: UnseenMessage[];
}

export interface DigestConversationRow extends Omit<UnseenMessages, 'messages'> {
  conversationId: string;
  /** The newest unread message: the digest's position once sent. */
  lastSeq: number;
  messages: (UnseenMessage & { createdAt: string })[];
}

/** A message not yet turned into notification work (read from the log, see migration 006). */
export interface NewMessage {
  conversationId: string;
  seq: number;
  senderId: string;
  messageId: string;
  mentions: string[];
  createdAt: string;
}

export interface NotifyWorkRepo {
  addOutbox(item: OutboxItem): Promise<void>;
  /**
   * The work waiting, read in one snapshot without taking it or locking anything: the
   * position, up to `messageLimit` messages past it (with the text of those that mention
   * someone) and the oldest `outboxLimit` outbox rows. Null without a position.
   */
  readWork(messageLimit: number, outboxLimit: number): Promise<{
    pos: number;
    /** The log position of the last of those messages (`pos` when there are none). */
    lastPos: number;
    /** Whether either limit cut the work short. */
    more: boolean;
    messages: (NewMessage & { body: string | null })[];
    outbox: (OutboxItem & { id: string })[];
  } | null>;
  /**
   * Takes work read by readWork: moves the position (when given) and deletes those outbox
   * rows. False when another drain took any of it first; the caller's transaction must
   * then roll back. Waits for a drain that holds the same work to finish.
   */
  claimWork(position: { from: number; to: number } | null, outboxIds: string[]): Promise<boolean>;
  /**
   * The position and, in brief, up to `limit` messages past it, read without taking them or
   * locking anything; `outbox` tells whether outbox work waits. Null without a position.
   */
  peekMessages(limit: number): Promise<{
    pos: number;
    /** The log position of the last of those messages (`pos` when there are none). */
    lastPos: number;
    outbox: boolean;
    /** How many messages, whether `limit` cut them short, and whether any mentions someone. */
    count: number;
    more: boolean;
    mentions: boolean;
    /** Each (conversation, sender) among them, once. */
    senders: { conversationId: string; senderId: string }[];
  } | null>;
  /** Moves the position from `from` to `to`; false when another drain moved it first. */
  advanceMessages(from: number, to: number): Promise<boolean>;
  /** Mute, archive and read state per (conversation, user), keyed `conversationId\nuserId`; absent = not a member. */
  memberStates(pairs: { conversationId: string; userId: string }[]): Promise<Map<string, { mutedUntil: string | null; archived: boolean; readSeq: number }>>;
  userNames(ids: string[]): Promise<Map<string, string | null>>;
  /** Titles of the conversations that have one. */
  conversationTitles(ids: string[]): Promise<Map<string, string>>;
  /** For each (conversation, user), what a push would say: null when the user is not a member. */
  unseenMany(pairs: { conversationId: string; userId: string }[], limit: number): Promise<(UnseenMessages | null)[]>;
  /**
   * Moves each member's pushed position to its `seq`; for each, false when it was there
   * already, i.e. another push job claimed these messages first (row locks make that exact).
   * With several, throws (lock_not_available) rather than wait for a row another transaction holds.
   */
  markPushed(positions: { conversationId: string; userId: string; seq: number }[]): Promise<boolean[]>;
  /** Users with an email address and something not read and not emailed yet, by id after `afterUserId`. */
  digestCandidates(afterUserId: string, limit: number): Promise<{ userId: string; email: string }[]>;
  digestFor(userId: string, perConversation: number): Promise<DigestConversationRow[]>;
  /** Moves emailed positions forward; answers how many moved (0: another run emailed them first). */
  markEmailed(userId: string, positions: { conversationId: string; seq: number }[]): Promise<number>;
}
