import { type TSchema, Type } from '@sinclair/typebox';
import { ErrorSchema } from '../../../../protocol/responses.ts';
import { UserId } from '../../../../protocol/schemas.ts';

/**
 * The documented contract of one operation: its operationId, who may call it, and every
 * response it can give, successes with their wire shape and errors with the envelope.
 * Response schemas document the wire; JSON.stringify serializes it (see openapi.ts).
 */
export type Access = 'public' | 'user' | 'admin';

interface OperationDoc {
  operationId: string;
  summary: string;
  tags: string[];
  access: Access;
  /** Success status to body schema; `null` for 204 No Content. */
  ok: Record<number, TSchema | null>;
  /** It changes something: it may conflict, and is sent with a write method (below). */
  write?: boolean;
  /** Sent with POST, PUT, PATCH or DELETE without changing anything (POST /v1/sync): a body, and the write budget. */
  body?: boolean;
  /** It names a resource in its path (404 when the caller cannot see it). */
  resource?: boolean;
  description?: string;
}

const SECURITY: Record<Access, Record<string, string[]>[] | undefined> = {
  public: undefined,
  // A user's JWT, or an admin API key acting for the user named by X-Parley-User.
  user: [{ bearerAuth: [] }, { apiKey: [] }],
  admin: [{ apiKey: [] }],
};

const RETRY_AFTER = { 'retry-after': { type: 'integer', description: 'Seconds to wait before retrying' } };
const err = (description: string, extra: Record<string, unknown> = {}) => ({ ...Type.Ref(ErrorSchema), description, ...extra });
const ERRORS = {
  400: err('Bad request: validation_failed, invalid_json, json_too_deep, forbidden_key, invalid_text, number_out_of_range, acting_user_required, malformed_request...'),
  401: err('auth_required, token_invalid or token_expired'),
  403: err('forbidden, or admin_required on admin routes'),
  404: err('not_found: it does not exist or the caller cannot see it'),
  409: err('conflict, message_deleted, message_locked or direct_conversation'),
  413: err('payload_too_large'),
  415: err('unsupported_media_type: send application/json'),
  429: err('rate_limited: wait retryAfter seconds', { headers: RETRY_AFTER }),
  500: err('internal_error (logged; never echoes details)'),
  503: err('unavailable: storage is unreachable for now; retry after Retry-After seconds', { headers: RETRY_AFTER }),
};

const ActingUser = Type.Object({ 'x-parley-user': Type.Optional({ ...UserId, description: 'With an admin API key: the user to act for' }) });

export function operation(doc: OperationDoc) {
  const response: Record<number, unknown> = {};
  for (const [status, schema] of Object.entries(doc.ok)) {
    response[Number(status)] = schema === null ? { type: 'null', description: 'No content' } : { ...schema, description: schema.description ?? 'Success' };
  }
  const errors: (keyof typeof ERRORS)[] = [400, 500, 503];
  if (doc.access !== 'public') errors.push(401, 403);
  if (doc.resource) errors.push(404);
  if (doc.write) errors.push(409);
  if (doc.write || doc.body) errors.push(413, 415);
  // REST spends the user's rate-limit budget on every request with a write method.
  if ((doc.write || doc.body) && doc.access === 'user') errors.push(429);
  for (const status of errors.sort()) response[status] = ERRORS[status];
  const security = SECURITY[doc.access];
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    tags: doc.tags,
    ...(doc.description ? { description: doc.description } : {}),
    ...(security ? { security } : {}),
    ...(doc.access === 'user' ? { headers: ActingUser } : {}),
    response,
  };
}
