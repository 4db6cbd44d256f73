import type { FastifyInstance } from 'fastify';
import { Marker } from '../../../../protocol/schemas.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { IdParams } from './params.ts';

type MarkerReq = { Params: { id: string }; Body: { seq?: number } | undefined };
const tags = ['read state'];

export function readStateRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: 'user' as const };

  app.post<MarkerReq>('/v1/conversations/:id/read', {
    config,
    schema: { ...operation({ operationId: 'markRead', summary: 'Move the read marker forward to seq (default: latest)', tags, access: 'user', ok: { 200: Bodies.readState }, write: true, resource: true }), params: IdParams, body: Marker },
    handler: (req) => s.readState.markRead(actorOf(req), req.params.id, req.body?.seq),
  });

  app.post<MarkerReq>('/v1/conversations/:id/delivered', {
    config,
    schema: { ...operation({ operationId: 'markDelivered', summary: 'Move the delivered marker forward to seq (default: latest)', tags, access: 'user', ok: { 200: Bodies.readState }, write: true, resource: true }), params: IdParams, body: Marker },
    handler: (req) => s.readState.markDelivered(actorOf(req), req.params.id, req.body?.seq),
  });

  app.get('/v1/me/unread', {
    config,
    schema: { ...operation({ operationId: 'getUnread', summary: 'Unread per conversation and in total (muted left out of the total)', tags, access: 'user', ok: { 200: Bodies.unread } }) },
    handler: (req) => s.readState.unread(actorOf(req)),
  });
}
