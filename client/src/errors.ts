import type { ErrorBody, ErrorCode } from '../../protocol/errors.ts';

/**
 * Every failure the SDK reports: the server's stable error `code` (see docs/errors.md), or
 * one of the client's own (`network_error`, `timeout`, `disconnected`, `closed`).
 */
export class ParleyError extends Error {
  readonly code: ErrorCode | 'network_error' | 'timeout' | 'disconnected' | 'closed';
  /** HTTP status for REST failures; 0 otherwise. */
  readonly status: number;
  readonly retryAfter?: number;
  readonly details?: ErrorBody['details'];

  constructor(body: Pick<ErrorBody, 'message'> & { code: ParleyError['code']; retryAfter?: number; details?: ErrorBody['details'] }, status = 0) {
    super(body.message);
    this.name = 'ParleyError';
    this.code = body.code;
    this.status = status;
    if (body.retryAfter !== undefined) this.retryAfter = body.retryAfter;
    if (body.details) this.details = body.details;
  }
}

/** Codes worth trying again unchanged (later): the request itself was fine. */
export const RETRYABLE = new Set<string>(['rate_limited', 'internal_error', 'not_ready', 'unavailable', 'network_error', 'timeout', 'disconnected']);
