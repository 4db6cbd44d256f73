import type { ConversationEvent, LockUpdate, Notification, Presence, ReadStateChange, TypingUpdate } from '../domain/types.ts';

/** What services publish after COMMIT (or, for realtime signals, at once); gateways consume it. */
export type PublishedMessage =
  /** `origin`: the connection the change came from, which has it from its ack already. */
  | { kind: 'conversation'; event: ConversationEvent; origin?: string | undefined }
  | { kind: 'read-state'; change: ReadStateChange }
  | { kind: 'presence'; presence: Presence; audience: string[] }
  | { kind: 'typing'; update: TypingUpdate }
  | { kind: 'lock'; update: LockUpdate }
  /** To one user's connections: a new notification, or read state changed (`notification` null). */
  | { kind: 'notification'; userId: string; notification: Notification | null; unreadCount: number };

/**
 * Raised by the bus itself, never published: messages from other instances may have been
 * lost (the subscription dropped and came back). Local clients must sync, and caches fed
 * by the bus (membership) must forget what they hold.
 */
export interface ResyncSignal {
  kind: 'resync';
  reason: string;
}

export type BusMessage = PublishedMessage | ResyncSignal;

export interface BusMeta {
  /** When the publisher handed it to the bus (right after its COMMIT), ms since epoch. */
  publishedAt: number;
  /** Published by this instance. */
  local: boolean;
}

export interface BusHealth {
  /** Messages from other instances reach this one now (proved by a recent round trip). */
  ok: boolean;
  detail: string;
  /** Since when it is in this state (ms since epoch). */
  since: number;
}

export interface BusStats {
  published: number;
  received: number;
  resyncs: number;
  /** Messages that could not be handed to other instances (Redis down): closed by sync. */
  dropped: number;
}

/**
 * The fan-out port. The memory implementation serves one process; the Redis one spans a
 * cluster. Delivery is at-most-once: messages are hints over the database truth, and a
 * subscriber that may have missed some is told so (`resync`) and recovers by sync.
 */
export interface Bus {
  publish(message: PublishedMessage): Promise<void>;
  subscribe(handler: (message: BusMessage, meta: BusMeta) => void): () => void;
  health(): BusHealth;
  stats(): BusStats;
  close(): Promise<void>;
}
