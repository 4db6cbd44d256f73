import type { Message, ReactionSummary } from '../../../protocol/types.ts';

/** One conversation's messages as loaded: ascending by seq, no duplicates. */
export interface MessagesState {
  messages: readonly Message[];
  /** Older messages exist on the server beyond the first one here. */
  hasMore: boolean;
  /** The newest page has arrived (live messages are kept only from then on). */
  loaded: boolean;
  loading: boolean;
}

export const emptyMessages: MessagesState = { messages: [], hasMore: true, loaded: false, loading: false };

/** Merges messages in by id (a newer copy replaces an older one), ordered by seq. */
export function upsertMessages(list: readonly Message[], incoming: readonly Message[]): readonly Message[] {
  if (!incoming.length) return list;
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

export function setReactions(list: readonly Message[], messageId: string, reactions: ReactionSummary[]): readonly Message[] {
  const i = list.findIndex((m) => m.id === messageId);
  if (i < 0) return list;
  const next = list.slice();
  next[i] = { ...list[i]!, reactions };
  return next;
}
