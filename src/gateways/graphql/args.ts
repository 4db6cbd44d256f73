import type { Static, TSchema } from '@sinclair/typebox';
import { AppError } from '../../errors.ts';
import { assertCleanValue } from '../json.ts';
import { bodyAjv, describeErrors } from '../validation.ts';

/** An object without its null and undefined keys (GraphQL's explicit null for an optional argument means "not given"). */
export function defined<T extends Record<string, unknown>>(obj: T): { [K in keyof T]: Exclude<T[K], null> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], null> };
}

/**
 * A resolver's argument check against a protocol schema, compiled once: the same rules as
 * the REST body or realtime payload it stands for (GraphQL's types say "a string", the
 * schema says "a UUID", "1 to 10,000 code points", "no NUL"). Throws validation_failed.
 */
export function argsOf<S extends TSchema>(schema: S): (raw: Record<string, unknown>) => Static<S> {
  const validate = bodyAjv.compile(schema);
  return (raw) => {
    const args = defined(raw);
    assertCleanValue(args);
    if (!validate(args)) {
      const details = describeErrors(validate.errors ?? [], 'args');
      throw new AppError('validation_failed', `${details[0]?.path}: ${details[0]?.message}`, { details });
    }
    return args as Static<S>;
  };
}
