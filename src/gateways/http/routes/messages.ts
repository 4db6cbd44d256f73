import type { FastifyInstance } from 'fastify';
import {
  AddReaction,
  EditMessage,
  type HistoryQuery as HistoryQ,
  HistoryQuery,
  type ReceiptsQuery as ReceiptsQ,
  ReceiptsQuery,
  type SendMessage as SendBody,
  SendMessage,
} from '../../../../protocol/schemas.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { IdParams, NoBody, ReactionParams } from './params.ts';

type Id = { Params: { id: string } };
const tags = ['messages'];

export function messageRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: 'user' as const };

  app.get<Id & { Querystring: HistoryQ }>('/v1/conversations/:id/messages', {
    config,
    schema: { ...operation({ operationId: 'listMessages', summary: 'History by seq: newest page, or before/after a seq', tags, access: 'user', ok: { 200: Bodies.messagePage }, resource: true }), params: IdParams, querystring: HistoryQuery },
    handler: (req) => s.messages.list(actorOf(req), req.params.id, req.query),
  });

  app.post<Id & { Body: SendBody }>('/v1/conversations/:id/messages', {
    config,
    schema: { ...operation({ operationId: 'sendMessage', summary: 'Send (201), or get the original back for a repeated clientMsgId (200)', tags, access: 'user', ok: { 201: Bodies.message, 200: Bodies.message }, write: true, resource: true }), params: IdParams, body: SendMessage },
    handler: async (req, reply) => {
      const { message, created } = await s.messages.send(actorOf(req), req.params.id, req.body);
      return reply.status(created ? 201 : 200).send({ message });
    },
  });

  app.get<Id>('/v1/messages/:id', {
    config,
    schema: { ...operation({ operationId: 'getMessage', summary: 'One message', tags, access: 'user', ok: { 200: Bodies.message }, resource: true }), params: IdParams },
    handler: async (req) => ({ message: await s.messages.get(actorOf(req), req.params.id) }),
  });

  app.patch<Id & { Body: { body: string } }>('/v1/messages/:id', {
    config,
    schema: { ...operation({ operationId: 'editMessage', summary: 'Edit (sender only)', tags, access: 'user', ok: { 200: Bodies.message }, write: true, resource: true }), params: IdParams, body: EditMessage },
    handler: async (req) => ({ message: await s.messages.edit(actorOf(req), req.params.id, req.body.body) }),
  });

  app.delete<Id>('/v1/messages/:id', {
    config,
    schema: { ...operation({ operationId: 'deleteMessage', summary: 'Soft delete (sender or group admin); answers the tombstone', tags, access: 'user', ok: { 200: Bodies.message }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: async (req) => ({ message: await s.messages.delete(actorOf(req), req.params.id) }),
  });

  app.get<Id & { Querystring: ReceiptsQ }>('/v1/messages/:id/receipts', {
    config,
    schema: { ...operation({ operationId: 'getReceipts', summary: 'Sent, delivered or read: overall, and for a page of the other members by user id', tags, access: 'user', ok: { 200: Bodies.receipts }, resource: true }), params: IdParams, querystring: ReceiptsQuery },
    handler: (req) => s.messages.receipts(actorOf(req), req.params.id, req.query),
  });

  app.post<Id & { Body: { emoji: string } }>('/v1/messages/:id/reactions', {
    config,
    schema: { ...operation({ operationId: 'addReaction', summary: 'Add a reaction (one per user per emoji)', tags, access: 'user', ok: { 200: Bodies.message }, write: true, resource: true }), params: IdParams, body: AddReaction },
    handler: async (req) => ({ message: await s.reactions.add(actorOf(req), req.params.id, req.body.emoji) }),
  });

  app.delete<{ Params: { id: string; emoji: string } }>('/v1/messages/:id/reactions/:emoji', {
    config,
    schema: { ...operation({ operationId: 'removeReaction', summary: 'Remove your reaction', tags, access: 'user', ok: { 200: Bodies.message }, write: true, resource: true }), params: ReactionParams, body: NoBody },
    handler: async (req) => ({ message: await s.reactions.remove(actorOf(req), req.params.id, req.params.emoji) }),
  });
}
