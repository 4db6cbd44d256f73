import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type GraphQLSchema, printSchema } from 'graphql';
import mercurius from 'mercurius';
import { AppError } from '../../errors.ts';
import type { RateLimiter } from '../../realtime/rate-limiter.ts';
import type { Services } from '../../services/index.ts';
import { bearer } from '../http/auth.ts';
import { toHttpError } from '../http/errors.ts';
import type { Dispatch } from '../session/commands.ts';
import { createContext } from './context.ts';
import { formatError, RequestRefused, refusalOf } from './errors.ts';
import type { GraphqlRequest, Pipeline } from './pipeline.ts';

export interface GraphqlHttpDeps {
  services: Services;
  schema: GraphQLSchema;
  pipeline: Pipeline;
  /** Dispatchers for user tokens (rate limited) and for admin API keys acting for a user (not, as on REST). */
  dispatch: { user: Dispatch; admin: Dispatch };
  limiter: RateLimiter;
  unlimited: RateLimiter;
}

const Body = Type.Object(
  {
    query: Type.String({ minLength: 1 }),
    variables: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    operationName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    // Sent by some clients (persisted-query hashes); not used.
    extensions: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

const HTTP_OPERATIONS = new Set(['query', 'mutation'] as const);

/** Everything thrown before execution, as the refusal it is (Fastify's own errors mapped like REST maps them). */
function refusalFrom(err: unknown, onInternal: (err: unknown) => void): RequestRefused {
  if (err instanceof RequestRefused) return err;
  if (err instanceof AppError) return refusalOf(err);
  const mapped = toHttpError(err as FastifyError);
  if (mapped.code === 'internal_error') onInternal(err);
  return refusalOf(mapped);
}

/**
 * GraphQL over HTTP at POST /graphql, on Mercurius: authenticate (Bearer JWT, or an admin
 * key acting for a user), run the shared pipeline (limits, validation, variables, cost),
 * then Mercurius executes. A refused request answers the status of its code with
 * `{ data: null, errors }`; an executed one answers 200, field errors beside the data.
 * The schema's SDL is public at GET /graphql/schema.graphql.
 */
export async function graphqlHttp(app: FastifyInstance, deps: GraphqlHttpDeps): Promise<void> {
  const { services, schema, pipeline } = deps;
  const sdl = `${printSchema(schema)}\n`;

  await app.register(mercurius, {
    schema,
    routes: false,
    graphiql: false,
    // Its parse cache keeps documents by their text (up to 64 KiB each): a bounded few.
    cache: 128,
    errorFormatter: (execution, context) => {
      const log = (context as { reply?: FastifyReply }).reply?.log;
      const errors = execution.errors.map((e) => formatError(e, (err) => log?.error({ err }, 'graphql resolver failed')));
      return { statusCode: 200, response: { data: execution.data ?? null, errors } };
    },
  });

  app.setErrorHandler((err, req, reply) => {
    const refused = refusalFrom(err, (e) => req.log.error({ err: e }, 'graphql request failed'));
    const retryAfter = refused.errors[0]?.extensions.retryAfter;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return reply.status(refused.status).send({ data: null, errors: refused.errors.map((e) => e.toJSON()) });
  });

  app.post<{ Body: GraphqlRequest }>('/graphql', {
    config: { auth: 'none' },
    // GraphQL's contract is its SDL (docs/schema.graphql), not the REST OpenAPI document.
    schema: { hide: true, body: Body },
    // Before the body is parsed, like every REST route: an anonymous flood costs no parsing.
    onRequest: async (req: FastifyRequest) => {
      const acting = req.headers['x-parley-user'];
      req.principal = await services.auth.authenticate(bearer(req), Array.isArray(acting) ? acting[0] : acting);
      if (!req.principal.actor) throw new AppError('acting_user_required');
    },
    handler: async (req, reply) => {
      pipeline.prepare(req.body, HTTP_OPERATIONS);
      const principal = req.principal!;
      const user = principal.kind === 'user';
      const context = createContext(
        { services, dispatch: user ? deps.dispatch.user : deps.dispatch.admin, limiter: user ? deps.limiter : deps.unlimited },
        principal.actor!,
        'graphql-http',
        null,
      );
      return reply.graphql(req.body.query, context as unknown as Record<string, unknown>, req.body.variables ?? undefined, req.body.operationName ?? undefined);
    },
  });

  app.get('/graphql/schema.graphql', { schema: { hide: true } }, (_req, reply) =>
    reply.type('text/plain; charset=utf-8').send(sdl),
  );
}
