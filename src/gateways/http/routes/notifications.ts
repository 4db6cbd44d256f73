import type { FastifyInstance } from 'fastify';
import {
  type NotificationListQuery as ListQuery,
  NotificationListQuery,
  type NotificationPreferencesBody as PrefsBody,
  NotificationPreferencesBody,
  type RegisterDevice as DeviceBody,
  RegisterDevice,
  type SendNotification as SendBody,
  SendNotification,
} from '../../../../protocol/schemas.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { bearerAuth, IdParams, NoBody } from './params.ts';

type Id = { Params: { id: string } };
const tags = ['notifications'];

export function notificationRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: 'user' as const };

  app.get<{ Querystring: ListQuery }>('/v1/notifications', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Your inbox, newest first; filter by unread and type', querystring: NotificationListQuery },
    handler: (req) => s.notifications.list(actorOf(req), req.query),
  });

  app.get('/v1/notifications/unread-count', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Unread notifications' },
    handler: (req) => s.notifications.unreadCount(actorOf(req)),
  });

  app.post<Id>('/v1/notifications/:id/read', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Mark one read (read ones expire after 7 days)', params: IdParams, body: NoBody },
    handler: (req) => s.notifications.markRead(actorOf(req), req.params.id),
  });

  app.post('/v1/notifications/read-all', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Mark all read', body: NoBody },
    handler: (req) => s.notifications.markAllRead(actorOf(req)),
  });

  app.delete<Id>('/v1/notifications/:id', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Delete one', params: IdParams, body: NoBody },
    handler: async (req, reply) => {
      await s.notifications.delete(actorOf(req), req.params.id);
      return reply.status(204).send();
    },
  });

  app.delete('/v1/notifications', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Delete all', body: NoBody },
    handler: (req) => s.notifications.deleteAll(actorOf(req)),
  });

  app.post<{ Body: SendBody }>('/v1/notifications', {
    config: { auth: 'admin' },
    schema: { tags, security: bearerAuth, summary: 'Send to one or many users (admin API key); retryable with idempotencyKey', body: SendNotification },
    handler: async (req, reply) => {
      const result = await s.notifications.send(req.body);
      return reply.status(result.created > 0 ? 201 : 200).send(result);
    },
  });

  app.get('/v1/me/notification-preferences', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Your notification preferences' },
    handler: (req) => s.notifications.getPreferences(actorOf(req)),
  });

  app.put<{ Body: PrefsBody }>('/v1/me/notification-preferences', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Replace your preferences: per type and channel, quiet hours, do not disturb', body: NotificationPreferencesBody },
    handler: (req) => s.notifications.putPreferences(actorOf(req), req.body),
  });

  app.get('/v1/me/devices', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Your push devices' },
    handler: async (req) => ({ devices: await s.devices.list(actorOf(req)) }),
  });

  app.post<{ Body: DeviceBody }>('/v1/me/devices', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Register an APNs, FCM or Expo token, or a Web Push subscription', body: RegisterDevice },
    handler: async (req, reply) => reply.status(201).send({ device: await s.devices.register(actorOf(req), req.body) }),
  });

  app.get('/v1/push/vapid-public-key', {
    config,
    schema: { tags, security: bearerAuth, summary: 'The VAPID public key browsers subscribe with (applicationServerKey)' },
    handler: (req) => {
      actorOf(req); // a user's route like the device routes: an API key must name the user
      return s.devices.vapidPublicKey();
    },
  });

  app.delete<Id>('/v1/me/devices/:id', {
    config,
    schema: { tags, security: bearerAuth, summary: 'Forget a device', params: IdParams, body: NoBody },
    handler: async (req, reply) => {
      await s.devices.remove(actorOf(req), req.params.id);
      return reply.status(204).send();
    },
  });
}
