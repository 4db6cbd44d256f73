import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { addCanonicalIdKeywords } from './canonical-ids.ts';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// Bodies are JSON and must match their types exactly ("5" is not 5); unknown keys are errors.
export const bodyAjv = addCanonicalIdKeywords(addFormats(new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strict: false })));
// Query strings and path parameters arrive as text, so they are coerced to their types.
const textAjv = addCanonicalIdKeywords(addFormats(new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, allErrors: false, strict: false })));

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart !== 'body') return textAjv.compile(schema as object);
  const validate = bodyAjv.compile(schema as object);
  // No body at all reads as {}: optional-body routes (POST .../read) pass, and routes with
  // required fields say which field is missing rather than "must be object".
  const check = (data: unknown) => {
    const ok = validate(data ?? {}); // Fastify hands a missing body over as null
    check.errors = validate.errors;
    return ok;
  };
  check.errors = validate.errors;
  return check;
};

export function describeErrors(errors: Partial<ErrorObject>[], context: string): { path: string; message: string }[] {
  return errors.map((e) => ({
    path: `${context}${e.instancePath ?? ''}`,
    message:
      e.keyword === 'additionalProperties'
        ? `unknown property "${(e.params as { additionalProperty?: string }).additionalProperty}"`
        : (e.message ?? 'is invalid'),
  }));
}
