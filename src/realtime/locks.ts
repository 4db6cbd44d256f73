/** Who holds an edit lock on a message, and until when (ms since epoch). */
export interface LockHolder {
  userId: string;
  conversationId: string;
  connectionId: string;
  expiresAt: number;
}

/**
 * Edit locks port (memory now; Redis for a cluster). A lock is held by one connection of
 * one user until it expires, is released, that connection goes away or that user leaves the
 * conversation.
 */
export interface LockStore {
  /** Takes or renews the lock; answers the current holder when someone else has it. */
  acquire(messageId: string, holder: LockHolder, now: number): Promise<{ ok: true } | { ok: false; holder: LockHolder }>;
  /** Releases the lock if `userId` holds it. */
  release(messageId: string, userId: string, now: number): Promise<boolean>;
  holder(messageId: string, now: number): Promise<LockHolder | null>;
  /** Releases every lock held by a connection; answers what was released. */
  releaseConnection(connectionId: string): Promise<{ messageId: string; holder: LockHolder }[]>;
  /**
   * Releases every lock `userId` holds in a conversation (they left it); answers what was
   * released, so of several instances acting on the same event only one announces it.
   */
  releaseHolder(conversationId: string, userId: string): Promise<{ messageId: string; holder: LockHolder }[]>;
}
