import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../../config.ts';
import { AppError } from '../../errors.ts';
import type { RateLimiter } from '../../realtime/rate-limiter.ts';
import type { Services } from '../../services/index.ts';
import { parseClientJson } from '../json.ts';
import { registerAuth } from './auth.ts';
import { errorHandler } from './errors.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { memberRoutes } from './routes/members.ts';
import { messageRoutes } from './routes/messages.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { readStateRoutes } from './routes/read-state.ts';
import { realtimeRoutes } from './routes/realtime.ts';
import { userRoutes } from './routes/users.ts';
import { adminRoutes } from './routes/admin.ts';
import { validatorCompiler } from '../validation.ts';

export interface HttpDeps {
  config: Config;
  services: Services;
  limiter: RateLimiter;
  isReady: () => Promise<boolean>;
  metrics: { contentType: string; render(): Promise<string> };
}

/** The REST gateway: parse, authenticate, validate, call one service, present, map errors. */
export async function buildHttp({ config, services, limiter, isReady, metrics }: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: 300 },
    return503OnClosing: true,
    // Errors Fastify raises before routing (bad percent-encoding, an over-long parameter)
    // get the catalogue's shape too, without echoing the URL.
    frameworkErrors: (err, _req, reply) => {
      const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is not valid';
      return (reply as FastifyReply).status(400).send({ error: new AppError('validation_failed', message).toBody() });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ error: new AppError('route_not_found').toBody() }));
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      const value = parseClientJson(body as string);
      // Every body is an object; `null` must not pass for "no body".
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AppError('validation_failed', 'The body must be a JSON object');
      done(null, value);
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Parley', version: '0.1.0', description: 'Real-time messaging and notifications server' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A JWT, or an admin API key' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  registerAuth(app, services, limiter);

  app.get('/health', { schema: { tags: ['operations'], summary: 'The process answers' } }, () => ({ status: 'ok' }));
  app.get('/ready', { schema: { tags: ['operations'], summary: 'Storage reachable and migrated' } }, async (_req, reply) => {
    if (await isReady()) return { status: 'ready' };
    return reply.status(503).send({ error: new AppError('not_ready').toBody() });
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) =>
    reply.type(metrics.contentType).send(await metrics.render()),
  );

  adminRoutes(app, services);
  conversationRoutes(app, services);
  memberRoutes(app, services);
  messageRoutes(app, services);
  readStateRoutes(app, services);
  realtimeRoutes(app, services);
  userRoutes(app, services);
  notificationRoutes(app, services);
  return app;
}
