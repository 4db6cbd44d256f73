import type { FastifyInstance } from 'fastify';
import {
  type ConversationListQuery as ListQuery,
  ConversationListQuery,
  type CreateConversation as CreateBody,
  CreateConversation,
  Mute,
  type PatchConversation as PatchBody,
  PatchConversation,
} from '../../../../protocol/schemas.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { IdParams, NoBody } from './params.ts';

type Id = { Params: { id: string } };
const tags = ['conversations'];

export function conversationRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: 'user' as const };

  app.post<{ Body: CreateBody }>('/v1/conversations', {
    config,
    schema: { ...operation({ operationId: 'createConversation', summary: 'Create a conversation (direct ones are deduplicated)', tags, access: 'user', ok: { 201: Bodies.conversation, 200: Bodies.conversation }, write: true }), body: CreateConversation },
    handler: async (req, reply) => {
      const { conversation, created } = await s.conversations.create(actorOf(req), req.body);
      return reply.status(created ? 201 : 200).send({ conversation });
    },
  });

  app.get<{ Querystring: ListQuery }>('/v1/conversations', {
    config,
    schema: { ...operation({ operationId: 'listConversations', summary: "The caller's conversations, most recently active first", tags, access: 'user', ok: { 200: Bodies.conversationPage } }), querystring: ConversationListQuery },
    handler: (req) => s.conversations.list(actorOf(req), req.query),
  });

  app.get<Id>('/v1/conversations/:id', {
    config,
    schema: { ...operation({ operationId: 'getConversation', summary: 'One conversation', tags, access: 'user', ok: { 200: Bodies.conversation }, resource: true }), params: IdParams },
    handler: async (req) => ({ conversation: await s.conversations.get(actorOf(req), req.params.id) }),
  });

  app.patch<Id & { Body: PatchBody }>('/v1/conversations/:id', {
    config,
    schema: { ...operation({ operationId: 'updateConversation', summary: "Change a group's title or metadata (admins)", tags, access: 'user', ok: { 200: Bodies.conversation }, write: true, resource: true }), params: IdParams, body: PatchConversation },
    handler: async (req) => ({ conversation: await s.conversations.update(actorOf(req), req.params.id, req.body) }),
  });

  app.post<Id>('/v1/conversations/:id/archive', {
    config,
    schema: { ...operation({ operationId: 'archiveConversation', summary: 'Hide the conversation for the caller until a new message', tags, access: 'user', ok: { 200: Bodies.conversation }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: async (req) => ({ conversation: await s.conversations.setArchived(actorOf(req), req.params.id, true) }),
  });

  app.delete<Id>('/v1/conversations/:id/archive', {
    config,
    schema: { ...operation({ operationId: 'unarchiveConversation', summary: 'Unarchive', tags, access: 'user', ok: { 200: Bodies.conversation }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: async (req) => ({ conversation: await s.conversations.setArchived(actorOf(req), req.params.id, false) }),
  });

  app.post<Id & { Body: { until?: string } | undefined }>('/v1/conversations/:id/mute', {
    config,
    schema: { ...operation({ operationId: 'muteConversation', summary: 'Mute until a time (or indefinitely)', tags, access: 'user', ok: { 200: Bodies.conversation }, write: true, resource: true }), params: IdParams, body: Mute },
    handler: async (req) => {
      const until = req.body?.until ? new Date(req.body.until) : undefined;
      return { conversation: await s.conversations.mute(actorOf(req), req.params.id, until) };
    },
  });

  app.delete<Id>('/v1/conversations/:id/mute', {
    config,
    schema: { ...operation({ operationId: 'unmuteConversation', summary: 'Unmute', tags, access: 'user', ok: { 200: Bodies.conversation }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: async (req) => ({ conversation: await s.conversations.unmute(actorOf(req), req.params.id) }),
  });
}
