/**
 * The catalogue of stable error codes every gateway speaks. A code never changes meaning
 * once published; clients branch on `code`, humans read `message`. `status` is the HTTP
 * status the REST gateway answers with; realtime gateways carry the code in their ack.
 */
export const ERRORS = {
  validation_failed: { status: 400, message: 'The request does not match its schema' },
  invalid_json: { status: 400, message: 'The body is not valid JSON' },
  json_too_deep: { status: 400, message: 'The JSON nests deeper than allowed' },
  forbidden_key: { status: 400, message: 'The JSON holds a forbidden key (__proto__ or constructor.prototype)' },
  invalid_text: { status: 400, message: 'A string holds a NUL character or a lone UTF-16 surrogate, or the body is not valid UTF-8' },
  number_out_of_range: { status: 400, message: 'A JSON number is not finite, beyond ±(2^53 - 1), or rounds to 0' },
  invalid_mention: { status: 400, message: 'Mentions must name members of the conversation' },
  invalid_reply: { status: 400, message: 'replyTo must name a message of the same conversation' },
  malformed_request: { status: 400, message: 'The HTTP request could not be parsed' },
  unknown_command: { status: 400, message: 'No such command' },
  protocol_unsupported: { status: 400, message: 'This realtime protocol version is not supported' },
  graphql_parse_failed: { status: 400, message: 'The GraphQL document does not parse' },
  graphql_validation_failed: { status: 400, message: 'The GraphQL document is not valid against the schema' },
  query_too_large: { status: 400, message: 'The GraphQL document is larger than allowed' },
  query_too_deep: { status: 400, message: 'The GraphQL operation nests deeper than allowed' },
  query_too_costly: { status: 400, message: 'The GraphQL operation would cost more than allowed' },
  acting_user_required: { status: 400, message: 'An API key must name the user it acts for (X-Parley-User)' },
  auth_required: { status: 401, message: 'Authentication is required' },
  token_invalid: { status: 401, message: 'The token is invalid' },
  token_expired: { status: 401, message: 'The token has expired' },
  forbidden: { status: 403, message: 'You are not allowed to do this' },
  origin_not_allowed: { status: 403, message: 'This Origin is not allowed (PARLEY_CORS_ORIGINS)' },
  admin_required: { status: 403, message: 'This route needs an API key with the admin scope' },
  not_found: { status: 404, message: 'Not found' },
  route_not_found: { status: 404, message: 'No such route' },
  conflict: { status: 409, message: 'The request conflicts with the current state' },
  message_deleted: { status: 409, message: 'The message has been deleted' },
  message_locked: { status: 409, message: 'Someone else is editing this message' },
  direct_conversation: { status: 409, message: 'Members of a direct conversation cannot change' },
  sync_reset: { status: 409, message: 'More changes were missed than can be replayed: reload recent history' },
  request_timeout: { status: 408, message: 'The request did not arrive in time' },
  payload_too_large: { status: 413, message: 'The payload is too large' },
  unsupported_media_type: { status: 415, message: 'Send JSON (Content-Type: application/json)' },
  rate_limited: { status: 429, message: 'Too many requests' },
  too_many_operations: { status: 429, message: 'Too many operations at once on this connection' },
  headers_too_large: { status: 431, message: 'The request line and headers are too large' },
  internal_error: { status: 500, message: 'Internal error' },
  not_ready: { status: 503, message: 'Storage is not reachable or not migrated' },
  unavailable: { status: 503, message: 'Storage cannot be reached right now; retry after retryAfter seconds' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The shape of every error leaving the server, on every gateway. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** Seconds to wait, on `rate_limited` and `unavailable`. */
  retryAfter?: number;
  /** Which fields failed, on `validation_failed` only. */
  details?: { path: string; message: string }[];
}
