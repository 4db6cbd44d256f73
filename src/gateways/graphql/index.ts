import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.ts';
import { type RateLimiter, unlimited } from '../../realtime/rate-limiter.ts';
import { createDispatcher } from '../session/commands.ts';
import type { SessionDeps } from '../session/session.ts';
import { graphqlHttp } from './http.ts';
import { createPipeline } from './pipeline.ts';
import { buildGraphqlSchema } from './schema.ts';
import { attachGraphqlWs } from './ws.ts';

/**
 * The GraphQL gateway at /graphql: queries and mutations over HTTP (Mercurius),
 * subscriptions (and queries, mutations) over graphql-ws on the same path, one schema and
 * one pipeline of limits for both, registered with the hub like the other realtime gateways.
 */
export async function attachGraphql(http: FastifyInstance, config: Config, deps: SessionDeps & { limiter: RateLimiter }) {
  const schema = buildGraphqlSchema();
  const pipeline = createPipeline(schema, config.graphql);
  // Admin API keys acting for a user are not rate limited, as on REST.
  const admin = createDispatcher(deps.services, unlimited, (err, command) => deps.log.error({ err, command }, 'command failed'));
  await http.register(async (app) =>
    graphqlHttp(app, { services: deps.services, schema, pipeline, dispatch: { user: deps.dispatch, admin }, limiter: deps.limiter, unlimited }),
  );
  const ws = attachGraphqlWs(http.server, config, { ...deps, schema, pipeline, context: { services: deps.services, dispatch: deps.dispatch, limiter: deps.limiter } });
  return { schema, close: () => ws.close() };
}
