/** Limits every gateway and the SDK agree on. */
export const LIMITS = {
  /** Message body, in Unicode code points (not UTF-16 units). */
  bodyMaxCodePoints: 10_000,
  attachmentsMax: 10,
  mentionsMax: 50,
  titleMaxCodePoints: 200,
  /** Serialised size of a metadata object. */
  metadataMaxBytes: 8 * 1024,
  /** A realtime frame (WebSocket message, Socket.IO packet). */
  frameMaxBytes: 64 * 1024,
  /** JSON nesting depth, checked before any parser recursion. */
  jsonMaxDepth: 32,
  historyDefault: 50,
  historyMax: 200,
  conversationsDefault: 30,
  conversationsMax: 100,
  membersPerCall: 100,
  /** A page of a message's receipts (the other members, by user id). */
  receiptsDefault: 100,
  receiptsMax: 1000,
  /** A page of a conversation's members (GET /v1/conversations/:id/members), in join order. */
  memberPageDefault: 100,
  memberPageMax: 1000,
  groupCreateMembersMax: 1000,
} as const;

/** External user ids: whatever the host app uses (UUIDs, numbers, emails), URL-safe. */
export const USER_ID_PATTERN = '^[A-Za-z0-9._@:|+=-]{1,128}$';
/** Client-generated idempotency keys (UUIDs, ULIDs, counters). */
export const CLIENT_MSG_ID_PATTERN = '^[A-Za-z0-9._:-]{1,64}$';
/** A reaction: an emoji or a short name ("like"); no spaces or control characters. */
export const EMOJI_PATTERN = '^[^\\s\\p{Cc}]{1,32}$';
