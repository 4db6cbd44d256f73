import type {
  AddMembers,
  ConversationListQuery,
  CreateConversation,
  HistoryQuery,
  MemberListQuery,
  NotificationListQuery,
  NotificationPreferencesBody,
  PatchConversation,
  ReceiptsQuery,
  RegisterDevice,
  SendMessage,
} from '../../protocol/schemas.ts';
import type {
  Conversation,
  Device,
  Member,
  Message,
  MessageStatus,
  Notification,
  NotificationPreferences,
  Presence,
  ReadStateChange,
  SyncResult,
  UnreadCounts,
  User,
} from '../../protocol/types.ts';
import type { CommandPayloads } from '../../protocol/event-map.ts';
import { ParleyError } from './errors.ts';

export interface RestOptions {
  url: string;
  token(): Promise<string>;
  /** Called when the server says the token expired; resolves with a new one (or rejects). */
  refreshToken?(): Promise<string>;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

const qs = (q: Query = {}) => {
  const parts = Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
};
const enc = encodeURIComponent;

/**
 * Every REST route a chat app calls, typed, so an app never writes fetch by hand. Failures
 * throw ParleyError with the server's code; an expired token is refreshed once and the
 * call repeated.
 */
export function createRest(opts: RestOptions) {
  const base = opts.url.replace(/\/$/, '');
  async function call<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const f = opts.fetch ?? fetch;
    let res: Response;
    try {
      res = await f(base + path, {
        method,
        headers: { authorization: `Bearer ${await opts.token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new ParleyError({ code: 'network_error', message: String((err as Error)?.message ?? err) });
    }
    const text = await res.text();
    let json: { error?: ParleyError } | undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {}
    if (res.ok) return json as T;
    const error = json?.error ?? { code: 'internal_error' as const, message: `HTTP ${res.status}` };
    if (error.code === 'token_expired' && opts.refreshToken && !retried) {
      await opts.refreshToken();
      return call(method, path, body, true);
    }
    throw new ParleyError(error, res.status);
  }
  const get = <T>(path: string, q?: Query) => call<T>('GET', path + qs(q));
  const post = <T>(path: string, body: unknown = {}) => call<T>('POST', path, body);
  const del = <T = void>(path: string) => call<T>('DELETE', path);
  const c = (id: string) => `/v1/conversations/${enc(id)}`;
  const m = (id: string) => `/v1/messages/${enc(id)}`;

  return {
    call,
    me: () => get<{ user: User }>('/v1/me').then((r) => r.user),
    // Conversations and members
    listConversations: (q: ConversationListQuery = {}) => get<{ conversations: Conversation[]; nextCursor: string | null }>('/v1/conversations', q),
    getConversation: (id: string) => get<{ conversation: Conversation }>(c(id)).then((r) => r.conversation),
    /** Direct conversations are deduplicated: an existing one is returned. */
    createConversation: (body: CreateConversation) => post<{ conversation: Conversation }>('/v1/conversations', body).then((r) => r.conversation),
    updateConversation: (id: string, patch: PatchConversation) => call<{ conversation: Conversation }>('PATCH', c(id), patch).then((r) => r.conversation),
    archive: (id: string, archived = true) => call<{ conversation: Conversation }>(archived ? 'POST' : 'DELETE', `${c(id)}/archive`).then((r) => r.conversation),
    mute: (id: string, until?: Date) => post<{ conversation: Conversation }>(`${c(id)}/mute`, until ? { until: until.toISOString() } : {}).then((r) => r.conversation),
    unmute: (id: string) => del<{ conversation: Conversation }>(`${c(id)}/mute`).then((r) => r.conversation),
    /** A page of the members in join order (`nextCursor` for the next): a conversation carries only its first 100. */
    members: (id: string, q: MemberListQuery = {}) => get<{ members: Member[]; memberCount: number; nextCursor: string | null }>(`${c(id)}/members`, q),
    addMembers: (id: string, body: AddMembers) => post<{ added: Member[] }>(`${c(id)}/members`, body).then((r) => r.added),
    /** Removes a member; with your own id, leaves. */
    removeMember: (id: string, userId: string) => del(`${c(id)}/members/${enc(userId)}`),
    setMemberRole: (id: string, userId: string, role: 'admin' | 'member') =>
      call<{ member: Member }>('PATCH', `${c(id)}/members/${enc(userId)}`, { role }).then((r) => r.member),
    // Messages
    history: (id: string, q: HistoryQuery = {}) => get<{ messages: Message[]; hasMore: boolean }>(`${c(id)}/messages`, q),
    /** A send over REST (the client's outbox sends over the realtime connection). */
    postMessage: (id: string, body: SendMessage) => post<{ message: Message }>(`${c(id)}/messages`, body).then((r) => r.message),
    getMessage: (id: string) => get<{ message: Message }>(m(id)).then((r) => r.message),
    editMessage: (id: string, body: string) => call<{ message: Message }>('PATCH', m(id), { body }).then((r) => r.message),
    deleteMessage: (id: string) => del<{ message: Message }>(m(id)).then((r) => r.message),
    /** A page of the other members' receipts, by user id (`nextCursor` for the next); the overall status over all of them. */
    receipts: (id: string, q: ReceiptsQuery = {}) =>
      get<{ messageId: string; seq: number; status: MessageStatus; members: { userId: string; status: MessageStatus }[]; nextCursor: string | null }>(`${m(id)}/receipts`, q),
    addReaction: (id: string, emoji: string) => post<{ message: Message }>(`${m(id)}/reactions`, { emoji }).then((r) => r.message),
    removeReaction: (id: string, emoji: string) => del<{ message: Message }>(`${m(id)}/reactions/${enc(emoji)}`).then((r) => r.message),
    // Read state and sync
    markRead: (id: string, seq?: number) => post<ReadStateChange>(`${c(id)}/read`, seq === undefined ? {} : { seq }),
    markDelivered: (id: string, seq?: number) => post<ReadStateChange>(`${c(id)}/delivered`, seq === undefined ? {} : { seq }),
    unread: () => get<UnreadCounts>('/v1/me/unread'),
    sync: (body: CommandPayloads['sync']) => post<SyncResult>('/v1/sync', body),
    // Presence
    presence: (userIds: string[]) => get<{ presence: Presence[] }>('/v1/presence', { userIds: userIds.join(',') }).then((r) => r.presence),
    setStatus: (body: CommandPayloads['presence:set']) => call<{ presence: Presence }>('PUT', '/v1/me/status', body).then((r) => r.presence),
    // Notifications, preferences, devices
    notifications: (q: NotificationListQuery = {}) => get<{ notifications: Notification[]; nextCursor: string | null }>('/v1/notifications', q),
    notificationUnreadCount: () => get<{ unreadCount: number }>('/v1/notifications/unread-count').then((r) => r.unreadCount),
    markNotificationRead: (id: string) => post<{ notification: Notification; unreadCount: number }>(`/v1/notifications/${enc(id)}/read`),
    markAllNotificationsRead: () => post<{ updated: number; unreadCount: number }>('/v1/notifications/read-all'),
    deleteNotification: (id: string) => del(`/v1/notifications/${enc(id)}`),
    deleteAllNotifications: () => del<{ deleted: number }>('/v1/notifications'),
    preferences: () => get<NotificationPreferences>('/v1/me/notification-preferences'),
    setPreferences: (body: NotificationPreferencesBody) => call<NotificationPreferences>('PUT', '/v1/me/notification-preferences', body),
    devices: () => get<{ devices: Device[] }>('/v1/me/devices').then((r) => r.devices),
    registerDevice: (body: RegisterDevice) => post<{ device: Device }>('/v1/me/devices', body).then((r) => r.device),
    removeDevice: (id: string) => del(`/v1/me/devices/${enc(id)}`),
    vapidPublicKey: () => get<{ publicKey: string }>('/v1/push/vapid-public-key').then((r) => r.publicKey),
  };
}

export type Rest = ReturnType<typeof createRest>;
