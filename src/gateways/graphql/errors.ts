import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, ERRORS, type ErrorCode } from '../../errors.ts';

/** A GraphQL error with a catalogue code in `extensions.code` (and `extra` beside it). */
export function coded(code: ErrorCode, message?: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message ?? new AppError(code).message, { extensions: { code, ...extra } });
}

/** Errors found before execution (parse, limits, validation, variables): the request is refused as a whole. */
export class RequestRefused extends Error {
  constructor(readonly errors: readonly GraphQLError[]) {
    super(errors[0]?.message ?? 'refused');
  }

  /** The HTTP status of the first error's code. */
  get status(): number {
    const code = this.errors[0]?.extensions.code;
    return typeof code === 'string' && code in ERRORS ? ERRORS[code as ErrorCode].status : 400;
  }
}

/** Tags every error of one pipeline phase with that phase's code (errors already coded keep theirs). */
export function refuse(code: ErrorCode, errors: readonly GraphQLError[]): RequestRefused {
  return new RequestRefused(errors.map((e) => (typeof e.extensions.code === 'string' ? e : new GraphQLError(e.message, { nodes: e.nodes ?? null, source: e.source ?? null, positions: e.positions ?? null, extensions: { ...e.extensions, code } }))));
}

/** A thrown AppError as the request-level refusal it stands for (authentication, body, rate limit). */
export function refusalOf(err: AppError): RequestRefused {
  return new RequestRefused([coded(err.code, err.message, extrasOf(err))]);
}

const extrasOf = (err: AppError): Record<string, unknown> => ({
  ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
  ...(err.details ? { details: err.details } : {}),
});

/**
 * What one error looks like on the wire: message, locations, path and `extensions.code`.
 * An AppError thrown by a service keeps its code and message; anything else that reaches
 * here uncoded is a bug, reported through `onInternal` and answered as internal_error
 * without its text.
 */
export function formatError(err: GraphQLError, onInternal: (err: unknown) => void): GraphQLFormattedError {
  const json = err.toJSON();
  if (typeof err.extensions.code === 'string') return json;
  const original = err.originalError;
  if (original instanceof GraphQLError && typeof original.extensions.code === 'string') return { ...json, message: original.message, extensions: original.extensions };
  if (original instanceof AppError) return { ...json, message: original.message, extensions: { code: original.code, ...extrasOf(original) } };
  onInternal(original ?? err);
  return { ...json, message: new AppError('internal_error').message, extensions: { code: 'internal_error' } };
}
