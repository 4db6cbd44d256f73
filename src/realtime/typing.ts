/**
 * Typing state port: who is typing where, from which connection, and when `typing: true`
 * last went out. Memory for one process; Redis for a cluster, so a stop or a repeat from a
 * device on another instance is seen by the instance that announced the start.
 */
export interface TypingStore {
  /**
   * Marks `userId` typing in a conversation from `connectionId`. `announce`: send
   * `typing: true` (new, or last sent at least `resendMs` ago). `stamp` names this mark.
   */
  start(conversationId: string, userId: string, connectionId: string, now: number, opts: { ttlMs: number; resendMs: number }): Promise<{ announce: boolean; stamp: string }>;
  /** Ends it; true when the user was typing (send `typing: false`). */
  stop(conversationId: string, userId: string): Promise<boolean>;
  /** Ends it if `stamp` is still the latest mark (nobody renewed it since); true when it did. */
  expire(conversationId: string, userId: string, stamp: string): Promise<boolean>;
  /** Ends whatever the connection was typing; answers where. */
  dropConnection(connectionId: string): Promise<{ conversationId: string; userId: string }[]>;
}
