import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { WIRE_SCHEMAS } from '../../../protocol/responses.ts';

interface Operation {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { type?: string; additionalProperties?: unknown; properties?: object; required?: string[]; minProperties?: number; anyOf?: unknown[] } }> };
}
type Json = { paths?: Record<string, Record<string, Operation>> } & Record<string, unknown>;

/**
 * Fastify always marks a request body required once a route has a body schema. Parley's
 * routes that take none (`{}` closed) get no requestBody at all, and bodies whose every
 * field is optional are documented as optional.
 */
function fixRequestBodies(doc: Json): Json {
  for (const path of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(path)) {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (!op.requestBody || !schema) continue;
      const takesNone = schema.type === 'object' && schema.additionalProperties === false && Object.keys(schema.properties ?? {}).length === 0;
      if (takesNone) delete op.requestBody;
      else if (!schema.required?.length && !schema.minProperties && !schema.anyOf) op.requestBody.required = false;
    }
  }
  return doc;
}

/**
 * The OpenAPI 3.1 document at /openapi.json and its browser at /docs. 3.1, because its
 * schemas are JSON Schema (2020-12): the same TypeBox schemas that validate requests and
 * serialize responses are published as they are (`null` types, `propertyNames`), with no
 * lossy translation. The wire shapes are `components.schemas`, named by their `$id`.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  for (const schema of WIRE_SCHEMAS) app.addSchema(schema);
  // Response schemas document and are checked by test/openapi.test.ts; they do not serialize.
  // fast-json-stringify compiled from them was 1.3-1.7x the CPU time of JSON.stringify on
  // Parley's pages (bench/serialize.ts: open objects and nullable unions are its slow
  // paths), and it drops undeclared fields, coerces mistyped ones and throws (a 500) on a
  // union no branch matches. JSON.stringify sends exactly what the service returned.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Parley', version, description: 'Real-time messaging and notifications server. Errors: docs/errors.md; realtime: docs/realtime.md.' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT for the user (`sub` is the user id)' },
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An admin API key (PARLEY_API_KEYS), sent as a bearer token; on user routes X-Parley-User names the user it acts for',
          },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (doc) => ('openapiObject' in doc ? fixRequestBodies(doc.openapiObject as Json) : doc.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
