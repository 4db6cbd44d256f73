import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { SetPresence, SyncCmd } from '../../../../protocol/events.ts';
import { USER_ID_PATTERN } from '../../../../protocol/limits.ts';
import { UUID_PATTERN } from '../../../../protocol/schemas.ts';
import { AppError } from '../../../errors.ts';
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';

const USER_ID_RE = new RegExp(USER_ID_PATTERN);
const UUID_RE = new RegExp(UUID_PATTERN);

/** `cursors=<conversationId>:<seq>,...` into the sync command's cursor map. */
function parseCursors(raw: string | undefined): Record<string, number> {
  const cursors: Record<string, number> = {};
  for (const part of (raw ?? '').split(',').filter(Boolean)) {
    const [id, seq, ...rest] = part.split(':');
    const n = /^\d{1,16}$/.test(seq ?? '') ? Number(seq) : Number.NaN;
    if (rest.length || !id || !UUID_RE.test(id) || !Number.isSafeInteger(n)) {
      throw new AppError('validation_failed', 'cursors is a list of <conversationId>:<seq> pairs, comma separated');
    }
    // One form for ids (docs/ids.md): lower case, and a conversation named once.
    const canonical = id.toLowerCase();
    if (Object.hasOwn(cursors, canonical)) throw new AppError('validation_failed', `cursors names ${canonical} twice (ids are not case-sensitive)`);
    cursors[canonical] = n;
  }
  return cursors;
}

export function realtimeRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: 'user' as const };

  app.get<{ Querystring: { cursors?: string; limit?: number } }>('/v1/sync', {
    config,
    schema: {
      ...operation({ operationId: 'sync', summary: 'Every change after each cursor, in seq order, paged; `reset` past PARLEY_SYNC_LIMIT', tags: ['realtime'], access: 'user', ok: { 200: Bodies.sync } }),
      querystring: Type.Object(
        { cursors: Type.Optional(Type.String({ maxLength: 8000 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
        { additionalProperties: false },
      ),
    },
    handler: (req) => s.sync.sync(actorOf(req), parseCursors(req.query.cursors), req.query.limit),
  });

  app.post<{ Body: { cursors: Record<string, number>; limit?: number } }>('/v1/sync', {
    config,
    schema: { ...operation({ operationId: 'syncWithBody', summary: 'Sync with cursors in the body (many conversations)', tags: ['realtime'], access: 'user', ok: { 200: Bodies.sync }, body: true }), body: SyncCmd },
    handler: (req) => s.sync.sync(actorOf(req), req.body.cursors, req.body.limit),
  });

  app.get<{ Querystring: { userIds: string } }>('/v1/presence', {
    config,
    schema: {
      ...operation({ operationId: 'getPresence', summary: 'Presence of users sharing a conversation with you (others are left out)', tags: ['realtime'], access: 'user', ok: { 200: Bodies.presenceList } }),
      querystring: Type.Object({ userIds: Type.String({ minLength: 1, maxLength: 26_000 }) }, { additionalProperties: false }),
    },
    handler: async (req) => {
      const userIds = [...new Set(req.query.userIds.split(','))];
      if (userIds.length > 200 || !userIds.every((u) => USER_ID_RE.test(u))) {
        throw new AppError('validation_failed', 'userIds is a comma-separated list of at most 200 user ids');
      }
      return { presence: await s.presence.query(actorOf(req), userIds) };
    },
  });

  app.put<{ Body: SetPresence }>('/v1/me/status', {
    config,
    schema: { ...operation({ operationId: 'setStatus', summary: 'Set your status (online, away, busy, dnd) and custom status', tags: ['realtime'], access: 'user', ok: { 200: Bodies.presence }, write: true }), body: SetPresence },
    handler: async (req) => ({ presence: await s.presence.set(actorOf(req), req.body) }),
  });
}
