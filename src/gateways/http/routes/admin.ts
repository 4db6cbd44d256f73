import type { FastifyInstance } from 'fastify';
import { DeadLetterQuery } from '../../../../protocol/schemas.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { IdParams, NoBody } from './params.ts';

const tags = ['operations'];

export function adminRoutes(app: FastifyInstance, s: Services): void {
  app.get('/v1/admin/status', {
    config: { auth: 'admin' },
    schema: { ...operation({ operationId: 'getDeliveryStatus', summary: 'Delivery queues per channel: depth, attempts, failures, dead letters (admin API key)', tags, access: 'admin', ok: { 200: Bodies.adminStatus } }) },
    handler: () => s.admin.status(),
  });

  app.get<{ Querystring: DeadLetterQuery }>('/v1/admin/dead-letters', {
    config: { auth: 'admin' },
    schema: { ...operation({ operationId: 'listDeadLetters', summary: 'Deliveries that ran out of attempts or failed for good, newest first (admin API key)', tags, access: 'admin', ok: { 200: Bodies.deadLetterPage } }), querystring: DeadLetterQuery },
    handler: (req) => s.admin.deadLetters(req.query),
  });

  app.post<{ Params: { id: string } }>('/v1/admin/dead-letters/:id/retry', {
    config: { auth: 'admin' },
    schema: { ...operation({ operationId: 'retryDeadLetter', summary: 'Put a dead letter back on its queue with fresh attempts (admin API key)', tags, access: 'admin', ok: { 200: Bodies.retried }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: (req) => s.admin.retryDeadLetter(req.params.id),
  });
}
