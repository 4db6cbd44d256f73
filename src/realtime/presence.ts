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
 * implementation serves one process; a Redis one spans a cluster. A user is online while
 * any device is; a connection not heard from within the stale bound is dropped by sweep.
 */
export interface PresenceStore {
  /** Registers a live connection; true when the user had none before. */
  connect(userId: string, connectionId: string, now: number): Promise<boolean>;
  /** Forgets a connection; true when it was the user's last. */
  disconnect(userId: string, connectionId: string, now: number): Promise<boolean>;
  heartbeat(userId: string, connectionId: string, now: number): Promise<void>;
  setStatus(userId: string, patch: { status?: PresenceRecord['chosen']; customStatus?: CustomStatus | null }): Promise<void>;
  get(userIds: string[]): Promise<PresenceRecord[]>;
  /** Drops connections silent since before `staleBefore`; returns the users left with none. */
  sweep(staleBefore: number, now: number): Promise<string[]>;
  /** Users whose custom status expired by `now` (cleared as a side effect). */
  expireCustomStatuses(now: number): Promise<string[]>;
}
