import type { FastifyInstance } from 'fastify';
import { type AddMembers as AddBody, AddMembers, type MemberListQuery as MemberListQ, MemberListQuery, SetRole } from '../../../../protocol/schemas.ts';
import type { Role } from '../../../domain/types.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { IdParams, MemberParams, NoBody } from './params.ts';

type MemberP = { Params: { id: string; userId: string } };
const tags = ['members'];

export function memberRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: 'user' as const };

  app.get<{ Params: { id: string }; Querystring: MemberListQ }>('/v1/conversations/:id/members', {
    config,
    schema: { ...operation({ operationId: 'listMembers', summary: 'A page of the members, in join order (any member)', tags, access: 'user', ok: { 200: Bodies.memberPage }, resource: true }), params: IdParams, querystring: MemberListQuery },
    handler: async (req) => {
      const { members, memberCount, nextCursor } = await s.members.page(actorOf(req), req.params.id, req.query);
      return { members, memberCount, nextCursor };
    },
  });

  app.post<{ Params: { id: string }; Body: AddBody }>('/v1/conversations/:id/members', {
    config,
    schema: { ...operation({ operationId: 'addMembers', summary: 'Add members to a group (admins; admins only by the owner)', tags, access: 'user', ok: { 200: Bodies.membersAdded }, write: true, resource: true }), params: IdParams, body: AddMembers },
    handler: (req) => s.members.add(actorOf(req), req.params.id, req.body),
  });

  app.delete<MemberP>('/v1/conversations/:id/members/:userId', {
    config,
    schema: { ...operation({ operationId: 'removeMember', summary: 'Remove a member, or leave when userId is the caller', tags, access: 'user', ok: { 204: null }, write: true, resource: true }), params: MemberParams, body: NoBody },
    handler: async (req, reply) => {
      await s.members.remove(actorOf(req), req.params.id, req.params.userId);
      return reply.status(204).send();
    },
  });

  app.patch<MemberP & { Body: { role: Exclude<Role, 'owner'> } }>('/v1/conversations/:id/members/:userId', {
    config,
    schema: { ...operation({ operationId: 'setMemberRole', summary: "Change a member's role (owner)", tags, access: 'user', ok: { 200: Bodies.member }, write: true, resource: true }), params: MemberParams, body: SetRole },
    handler: async (req) => ({ member: await s.members.setRole(actorOf(req), req.params.id, req.params.userId, req.body.role) }),
  });
}
