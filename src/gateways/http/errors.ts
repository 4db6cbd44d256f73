import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode, toAppError } from '../../errors.ts';
import { describeErrors } from '../validation.ts';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

/** Maps anything thrown in a request to one AppError; only AppErrors are shown to clients. */
export function toHttpError(err: FastifyError | AppError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const details = describeErrors(fe.validation, fe.validationContext ?? 'request');
    return new AppError('validation_failed', `${details[0]?.path}: ${details[0]?.message}`, { details });
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new AppError(mapped);
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new AppError('validation_failed', fe.message);
  return toAppError(err); // unavailable when storage is unreachable, else internal_error
}

/** The REST error handler; `onUnavailable` counts requests refused because storage is unreachable. */
export function createErrorHandler(onUnavailable: () => void) {
  return function errorHandler(this: unknown, err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) {
    const appErr = toHttpError(err);
    if (appErr.code === 'internal_error') req.log.error({ err }, 'unhandled error');
    if (appErr.code === 'unavailable') {
      req.log.warn({ err: { code: (err as { code?: unknown }).code, message: err.message } }, 'storage unavailable');
      onUnavailable();
    }
    if (appErr.retryAfter !== undefined) reply.header('retry-after', String(appErr.retryAfter));
    return reply.status(appErr.status).send({ error: appErr.toBody() });
  };
}
