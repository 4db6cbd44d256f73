import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { Config } from '../../config.ts';
import { AppError } from '../../errors.ts';
import type { Readiness } from '../../operations/readiness.ts';
import type { RateLimiter } from '../../realtime/rate-limiter.ts';
import type { Services } from '../../services/index.ts';
import { registerAuth } from './auth.ts';
import { clientErrorHandler, registerHostCheck } from './client-errors.ts';
import { registerCors } from './cors.ts';
import { createErrorHandler } from './errors.ts';
import { registerJsonBody } from './json-body.ts';
import { registerOpenApi } from './openapi.ts';
import { Bodies, ErrorSchema } from '../../../protocol/responses.ts';
import { operation } from './routes/docs.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { memberRoutes } from './routes/members.ts';
import { messageRoutes } from './routes/messages.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { readStateRoutes } from './routes/read-state.ts';
import { realtimeRoutes } from './routes/realtime.ts';
import { userRoutes } from './routes/users.ts';
import { adminRoutes } from './routes/admin.ts';
import { devLoginRoutes } from './routes/dev-login.ts';
import { webAppRoutes } from './web-app.ts';
import { validatorCompiler } from '../validation.ts';
import { boundHttpConnections } from './connection-bounds.ts';
import type { Logger } from 'pino';
import { createLogger } from '../../log.ts';

export interface HttpDeps {
  config: Config;
  services: Services;
  limiter: RateLimiter;
  readiness: () => Promise<Readiness>;
  metrics: { contentType: string; render(): Promise<string>; countUnavailable(gateway: string): void };
  /** The process's logger; one is made from the config when absent. */
  logger?: Logger;
}

/** The REST gateway: parse, authenticate, validate, call one service, present, map errors. */
export async function buildHttp({ config, services, limiter, readiness, metrics, logger }: HttpDeps): Promise<FastifyInstance> {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, idleTimeoutMs } = config.http;
  const app = Fastify({
    loggerInstance: (logger ?? createLogger({ level: config.logLevel, format: config.logFormat })) as FastifyBaseLogger,
    // One line per request, written when it is answered (below), instead of two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // A request must arrive whole (headers, then body) in time, an idle keep-alive
    // connection is closed, and so is a socket with no traffic either way (a peer that
    // stopped reading). Node checks the first two every connectionsCheckingInterval.
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    connectionTimeout: idleTimeoutMs,
    http: {
      requireHostHeader: false, // checked by registerHostCheck, which answers in the catalogue's shape
      headersTimeout: headersTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 4))),
    },
    routerOptions: { maxParamLength: 300 },
    return503OnClosing: true,
    clientErrorHandler,
    // Errors Fastify raises before routing (bad percent-encoding, an over-long parameter)
    // get the catalogue's shape too, without echoing the URL.
    frameworkErrors: (err, _req, reply) => {
      const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is not valid';
      return (reply as FastifyReply).status(400).send({ error: new AppError('validation_failed', message).toBody() });
    },
  });
  boundHttpConnections(app);
  app.addHook('onResponse', (req, reply, done) => {
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    done();
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(createErrorHandler(() => metrics.countUnavailable('rest')));
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ error: new AppError('route_not_found').toBody() }));
  registerJsonBody(app);

  await registerOpenApi(app, '0.1.0');

  await registerCors(app, config.corsOrigins);
  registerHostCheck(app);
  registerAuth(app, services, limiter);

  const ops = { tags: ['operations'], access: 'public' as const };
  app.get('/health', { schema: operation({ ...ops, operationId: 'health', summary: 'The process answers', ok: { 200: Bodies.status } }) }, () => ({ status: 'ok' }));
  // 200 `ready` or `degraded` (serving, something shared is down: `reasons` say what); 503
  // `not_ready` when this instance should get no traffic. `checks` has every part.
  const readyDoc = operation({ ...ops, operationId: 'ready', summary: 'Readiness per part: storage, job queue, Redis, bus subscription (503 not_ready: take it out of rotation)', ok: { 200: Bodies.readiness } });
  app.get('/ready', { schema: { ...readyDoc, response: { ...readyDoc.response, 503: { $ref: ErrorSchema.$id, description: 'not_ready: `details` names each part that is down' } } } }, async (_req, reply) => {
    const r = await readiness();
    if (r.status !== 'not_ready') return r;
    const details = Object.entries(r.checks).flatMap(([path, c]) => (c.ok ? [] : [{ path, message: c.detail }]));
    return reply.status(503).send({ error: new AppError('not_ready', r.reasons.join('; '), { details }).toBody() });
  });

  const metricsDoc = operation({ ...ops, operationId: 'metrics', summary: 'Prometheus metrics (text exposition format)', ok: {} });
  const text = { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } };
  app.get('/metrics', { schema: { ...metricsDoc, response: { ...metricsDoc.response, 200: text } } }, async (_req, reply) =>
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
  devLoginRoutes(app, config);
  webAppRoutes(app, config);
  return app;
}
