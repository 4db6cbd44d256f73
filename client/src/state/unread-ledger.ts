/**
 * A conversation's unread count reaches the client two ways: live events, applied in seq
 * order, each adding or taking one; and counts the server read at some moment (the
 * connect's `GET /v1/me/unread`, `unread:update` after a read, a conversation's snapshot),
 * each exact as of the conversation's last seq then. Neither waits for the other: a count
 * read before a message whose event came first would drop that message, and one read after
 * a message whose event is still on its way would count it twice. The ledger says which
 * events a count already holds and what the events past it changed.
 */
export interface UnreadLedger {
  /** Events up to this seq are in the count already: a server count read this far holds them. */
  counted: number;
  /** What each live event past `counted` did to the count (changes only). */
  changes: [seq: number, delta: number][];
  /** `changes` holds every change past this seq: older ones were dropped to bound it. */
  from: number;
}

/** Changes kept per conversation: a server count that comes later than this many changes is taken as is, or kept out. */
const KEPT = 64;

/** A count exact as of `seq` (a conversation's snapshot). */
export const ledgerAt = (seq: number): UnreadLedger => ({ counted: seq, changes: [], from: seq });

/** A live event's change to the count, or 0 when a server count already holds the event; recorded. */
export function liveChange(l: UnreadLedger, seq: number, delta: number): number {
  if (seq <= l.counted || delta === 0) return 0;
  l.changes.push([seq, delta]);
  if (l.changes.length > KEPT) l.from = l.changes.shift()![0];
  return delta;
}

/**
 * The count to show for a server count read as of `asOf`, when the client has applied live
 * events up to `lastSeq`: the server's, plus what events past `asOf` changed (the client
 * has them already), with events up to `asOf` that have yet to arrive marked as counted.
 * Null when the client knows better: a server count read later is in already, or the
 * changes since `asOf` are no longer all kept.
 */
export function serverCount(l: UnreadLedger, lastSeq: number, count: number, asOf: number): number | null {
  if (asOf < l.counted) return null;
  if (asOf >= lastSeq) {
    Object.assign(l, ledgerAt(asOf));
    return count;
  }
  if (asOf < l.from) return null;
  let n = count;
  for (const [seq, delta] of l.changes) if (seq > asOf) n += delta;
  l.changes = l.changes.filter(([seq]) => seq > asOf);
  l.counted = l.from = asOf;
  return Math.max(0, n);
}
