import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.ts';
import { parseClientJson } from '../json.ts';

/**
 * The only body type Parley reads: JSON, as UTF-8 bytes. Bytes that are not UTF-8 would
 * decode to U+FFFD and be stored as such, so they are refused; every body is an object.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, raw, done) => {
    const bytes = raw as Buffer;
    if (bytes.length === 0) return done(null, undefined);
    try {
      if (!isUtf8(bytes)) throw new AppError('invalid_text', 'The body is not valid UTF-8');
      const value = parseClientJson(bytes.toString('utf8'));
      // `null` must not pass for "no body".
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AppError('validation_failed', 'The body must be a JSON object');
      done(null, value);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
