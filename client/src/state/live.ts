import type { Notification, Presence } from '../../../protocol/types.ts';

/**
 * State that changes often and is not part of any message list, kept in stores of its own
 * so a keystroke or a status change elsewhere never re-renders a message list.
 */

/** Who is typing, by conversation (user ids, in the order they started). */
export type TypingState = Readonly<Record<string, readonly string[]>>;

/** Presence by user id, for the users someone asked about (and whoever changed since). */
export type PresenceState = Readonly<Record<string, Presence>>;

/** How far each member read and received, by conversation, then by user. */
export type ReceiptsState = Readonly<Record<string, Readonly<Record<string, { readSeq: number; deliveredSeq: number }>>>>;

export interface NotificationsState {
  /** Newest first, as loaded (plus live arrivals). */
  items: readonly Notification[];
  unreadCount: number;
  loaded: boolean;
  nextCursor: string | null;
}

export const emptyNotifications: NotificationsState = { items: [], unreadCount: 0, loaded: false, nextCursor: null };

/** The server's inbox order: newest `createdAt` first, then the greater id. */
const newerThan = (a: Notification, b: Notification) => {
  const at = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  return at > 0 || (at === 0 && a.id > b.id);
};

/**
 * A live notification, put where the server's list has it rather than on top: one created
 * earlier can arrive later (a background drain, another instance of a cluster). Older than
 * every loaded item while more pages remain, it belongs to a page not loaded yet, which
 * brings it; already present, nothing changes.
 */
export function withNotification(s: NotificationsState, n: Notification): readonly Notification[] {
  if (s.items.some((x) => x.id === n.id)) return s.items;
  const at = s.items.findIndex((x) => newerThan(n, x));
  if (at === -1) return s.nextCursor ? s.items : [...s.items, n];
  return [...s.items.slice(0, at), n, ...s.items.slice(at)];
}

/** Connection and sync health: what the client ignored, deduplicated and recovered. */
export interface ClientStats {
  /** Events with a name this SDK does not know (a newer server): ignored. */
  unknownEvents: number;
  /** Events or frames whose payload did not have the expected shape: ignored. */
  malformedEvents: number;
  /** Log events already applied (seq at or below the cursor): ignored. */
  duplicateEvents: number;
  /** Log events that skipped a seq: each started a sync. */
  gaps: number;
  syncs: number;
  /** Conversations too far behind to sync, reloaded instead. */
  resets: number;
  /** Errors inside the client's own handlers, reported to onError and never thrown into the app. */
  handlerErrors: number;
}

export const emptyStats: ClientStats = { unknownEvents: 0, malformedEvents: 0, duplicateEvents: 0, gaps: 0, syncs: 0, resets: 0, handlerErrors: 0 };
