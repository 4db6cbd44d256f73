import type { ConversationEvent, LockUpdate, Notification, Presence, ReadStateChange, TypingUpdate } from '../domain/types.ts';

/** What services publish after COMMIT (or, for realtime signals, at once); gateways consume it. */
export type BusMessage =
  /** `origin`: the connection the change came from, which has it from its ack already. */
  | { kind: 'conversation'; event: ConversationEvent; origin?: string | undefined }
  | { kind: 'read-state'; change: ReadStateChange }
  | { kind: 'presence'; presence: Presence; audience: string[] }
  | { kind: 'typing'; update: TypingUpdate }
  | { kind: 'lock'; update: LockUpdate }
  /** To one user's connections: a new notification, or read state changed (`notification` null). */
  | { kind: 'notification'; userId: string; notification: Notification | null; unreadCount: number };

/**
 * The fan-out port. The memory implementation serves one process; a Redis one spans a
 * cluster. Delivery is at-most-once: a subscriber that misses a message recovers by sync.
 */
export interface Bus {
  publish(message: BusMessage): Promise<void>;
  subscribe(handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}
