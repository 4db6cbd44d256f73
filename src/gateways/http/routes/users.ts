import type { FastifyInstance } from 'fastify';
import { type UpsertUser as UpsertBody, UpsertUser } from '../../../../protocol/schemas.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { UserParams } from './params.ts';

const tags = ['users'];

export function userRoutes(app: FastifyInstance, s: Services): void {
  app.get('/v1/me', {
    config: { auth: 'user' },
    schema: { ...operation({ operationId: 'getMe', summary: "The caller's profile", tags, access: 'user', ok: { 200: Bodies.user } }) },
    handler: async (req) => ({ user: await s.users.me(actorOf(req)) }),
  });

  app.put<{ Params: { id: string }; Body: UpsertBody }>('/v1/users/:id', {
    config: { auth: 'admin' },
    schema: { ...operation({ operationId: 'upsertUser', summary: 'Create or update a user (admin API key)', tags, access: 'admin', ok: { 200: Bodies.user }, write: true }), params: UserParams, body: UpsertUser },
    handler: async (req) => ({ user: await s.users.upsert(req.params.id, req.body) }),
  });
}
