import type { FastifyInstance } from 'fastify';
import { type UpsertUser as UpsertBody, UpsertUser } from '../../../../protocol/schemas.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { bearerAuth, UserParams } from './params.ts';

const tags = ['users'];

export function userRoutes(app: FastifyInstance, s: Services): void {
  app.get('/v1/me', {
    config: { auth: 'user' },
    schema: { tags, security: bearerAuth, summary: "The caller's profile" },
    handler: async (req) => ({ user: await s.users.me(actorOf(req)) }),
  });

  app.put<{ Params: { id: string }; Body: UpsertBody }>('/v1/users/:id', {
    config: { auth: 'admin' },
    schema: { tags, security: bearerAuth, summary: 'Create or update a user (admin API key)', params: UserParams, body: UpsertUser },
    handler: async (req) => ({ user: await s.users.upsert(req.params.id, req.body) }),
  });
}
