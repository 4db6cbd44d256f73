import type { FastifyInstance } from 'fastify';
import { DeadLetterQuery } from '../../../../protocol/schemas.ts';
import type { Services } from '../../../services/index.ts';
import { bearerAuth, IdParams, NoBody } from './params.ts';

const tags = ['operations'];

export function adminRoutes(app: FastifyInstance, s: Services): void {
  app.get('/v1/admin/status', {
    config: { auth: 'admin' },
    schema: { tags, security: bearerAuth, summary: 'Delivery queues per channel: depth, attempts, failures, dead letters (admin API key)' },
    handler: () => s.admin.status(),
  });

  app.get<{ Querystring: DeadLetterQuery }>('/v1/admin/dead-letters', {
    config: { auth: 'admin' },
    schema: { tags, security: bearerAuth, summary: 'Deliveries that ran out of attempts or failed for good, newest first (admin API key)', querystring: DeadLetterQuery },
    handler: (req) => s.admin.deadLetters(req.query),
  });

  app.post<{ Params: { id: string } }>('/v1/admin/dead-letters/:id/retry', {
    config: { auth: 'admin' },
    schema: { tags, security: bearerAuth, summary: 'Put a dead letter back on its queue with fresh attempts (admin API key)', params: IdParams, body: NoBody },
    handler: (req) => s.admin.retryDeadLetter(req.params.id),
  });
}
