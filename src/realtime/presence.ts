import type { CustomStatus, PresenceStatus } from '../domain/types.ts';

/** What the presence store keeps per user; `Presence` is derived from it at read time. */
export interface PresenceRecord {
  userId: string;
  /** Live connections and when each last showed a sign of life (ms since epoch). */
  connections: Record<string, number>;
  chosen: Exclude<PresenceStatus, 'offline'>;
  customStatus: CustomStatus | null;
  lastSeenAt: string | null;
}

/**
 * Presence port: which users have live connections, across all instances. The memory
 * implementation serves one process; the Redis one spans a cluster. A user is online while
 * any device is; a connection not heard from within the stale bound is dropped by sweep
 * (so the users of a killed instance go offline on the others by themselves).
 */
export interface PresenceStore {
  /** Registers a live connection; true when the user had none before. */
  connect(userId: string, connectionId: string, now: number): Promise<boolean>;
  /** Forgets a connection; true when it was the user's last. */
  disconnect(userId: string, connectionId: string, now: number): Promise<boolean>;
  /**
   * A sign of life: renews the connection, registering it again if it was lost (swept
   * while the process was stalled, or a Redis that restarted empty); true when that made
   * the user online again.
   */
  heartbeat(userId: string, connectionId: string, now: number): Promise<boolean>;
  setStatus(userId: string, patch: { status?: PresenceRecord['chosen']; customStatus?: CustomStatus | null }): Promise<void>;
  get(userIds: string[]): Promise<PresenceRecord[]>;
  /**
   * Which of `userIds` have a live connection on any instance (push and email go to the
   * others): asked for every recipient of every message, so it reads no records.
   */
  connected(userIds: string[]): Promise<Set<string>>;
  /**
   * Whether every one of `userIds` (repeats allowed) has a live connection: the notification
   * dispatcher asks it of every recipient of a drain's messages, and under load the answer
   * is nearly always yes.
   */
  allConnected(userIds: Iterable<string>): Promise<boolean>;
  /** Drops connections silent since before `staleBefore`; returns the users left with none. */
  sweep(staleBefore: number, now: number): Promise<string[]>;
  /** Users whose custom status expired by `now` (cleared as a side effect). */
  expireCustomStatuses(now: number): Promise<string[]>;
  /** How many users are online, and up to `limit` of them. */
  online(limit: number): Promise<{ count: number; userIds: string[] }>;
}
