import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, any>;

/** Fastify's `/v1/conversations/:id` as OpenAPI writes it: `/v1/conversations/{id}`. */
export const openApiPath = (fastifyPath: string): string => fastifyPath.replace(/:(\w+)/g, '{$1}');

/**
 * The wire objects are open in the document (a new field is never dropped on the way out);
 * closed here, so a response field the document does not name is a failure.
 */
function closeObjects(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) closeObjects(item);
    return;
  }
  const o = node as Json;
  if (o.properties && typeof o.properties === 'object' && o.additionalProperties === true) o.additionalProperties = false;
  for (const v of Object.values(o)) closeObjects(v);
}

/**
 * Checks a real response against the OpenAPI document: the operation exists, the status
 * is documented, and the body matches its schema with no undocumented field. Returns what
 * is wrong, or null.
 */
export function responseChecker(doc: Json): (method: string, fastifyPath: string, status: number, body: unknown) => string | null {
  const closed = structuredClone(doc);
  closeObjects(closed.paths);
  closeObjects(closed.components);
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  const compiled = new Map<string, ValidateFunction>();
  let n = 0;
  return (method, fastifyPath, status, body) => {
    const where = `${method} ${fastifyPath} ${status}`;
    const op = closed.paths?.[openApiPath(fastifyPath)]?.[method.toLowerCase()];
    if (!op) return `${method} ${fastifyPath} is not in the document`;
    const response = op.responses?.[String(status)];
    if (!response) return `${where}: status not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')})`;
    const schema = response.content?.['application/json']?.schema;
    if (!schema) return body === undefined || body === '' ? null : `${where}: documented with no body, but one was sent`;
    let validate = compiled.get(where);
    if (!validate) {
      // The components travel with each schema, so its `#/components/...` references resolve.
      validate = ajv.compile({ $id: `urn:parley:response:${n++}`, components: closed.components, ...schema });
      compiled.set(where, validate);
    }
    if (validate(body)) return null;
    const errors = (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` "${e.params.additionalProperty}"` : ''}`);
    return `${where}: body does not match its schema: ${errors.join('; ')}`;
  };
}
