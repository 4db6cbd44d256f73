import { ERRORS, type ErrorBody, type ErrorCode } from '../protocol/errors.ts';
import { isStorageUnavailable, UNAVAILABLE_RETRY_AFTER_SEC } from './unavailable.ts';

export { ERRORS, type ErrorCode };

/**
 * The only error services throw. Gateways map it once (HTTP status, ack, close code);
 * anything else reaching a gateway is a bug, logged and answered as `internal_error`.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfter?: number;
  readonly details?: ErrorBody['details'];

  constructor(code: ErrorCode, message?: string, extra: { retryAfter?: number; details?: ErrorBody['details'] } = {}) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    if (extra.retryAfter !== undefined) this.retryAfter = extra.retryAfter;
    if (extra.details) this.details = extra.details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.retryAfter !== undefined) body.retryAfter = this.retryAfter;
    if (this.details) body.details = this.details;
    return body;
  }
}

export const notFound = (what = 'Not found'): AppError => new AppError('not_found', what);

/**
 * Wraps an unknown failure without echoing its text: only AppErrors reach clients verbatim.
 * Storage that cannot be reached is `unavailable` (retryable), anything else `internal_error`.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isStorageUnavailable(err)) return new AppError('unavailable', undefined, { retryAfter: UNAVAILABLE_RETRY_AFTER_SEC });
  return new AppError('internal_error');
}
