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
import { Bodies } from '../../../../protocol/responses.ts';
import { operation } from './docs.ts';
import type { Services } from '../../../services/index.ts';
import { actorOf } from '../auth.ts';
import { IdParams, NoBody } from './params.ts';

type Id = { Params: { id: string } };
const tags = ['notifications'];

export function notificationRoutes(app: FastifyInstance, s: Services): void {
  const config = { auth: 'user' as const };

  app.get<{ Querystring: ListQuery }>('/v1/notifications', {
    config,
    schema: { ...operation({ operationId: 'listNotifications', summary: 'Your inbox, newest first; filter by unread and type', tags, access: 'user', ok: { 200: Bodies.notificationPage } }), querystring: NotificationListQuery },
    handler: (req) => s.notifications.list(actorOf(req), req.query),
  });

  app.get('/v1/notifications/unread-count', {
    config,
    schema: { ...operation({ operationId: 'getNotificationUnreadCount', summary: 'Unread notifications', tags, access: 'user', ok: { 200: Bodies.unreadCount } }) },
    handler: (req) => s.notifications.unreadCount(actorOf(req)),
  });

  app.post<Id>('/v1/notifications/:id/read', {
    config,
    schema: { ...operation({ operationId: 'markNotificationRead', summary: 'Mark one read (read ones expire after 7 days)', tags, access: 'user', ok: { 200: Bodies.notificationRead }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: (req) => s.notifications.markRead(actorOf(req), req.params.id),
  });

  app.post('/v1/notifications/read-all', {
    config,
    schema: { ...operation({ operationId: 'markAllNotificationsRead', summary: 'Mark all read', tags, access: 'user', ok: { 200: Bodies.readAll }, write: true }), body: NoBody },
    handler: (req) => s.notifications.markAllRead(actorOf(req)),
  });

  app.delete<Id>('/v1/notifications/:id', {
    config,
    schema: { ...operation({ operationId: 'deleteNotification', summary: 'Delete one', tags, access: 'user', ok: { 204: null }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: async (req, reply) => {
      await s.notifications.delete(actorOf(req), req.params.id);
      return reply.status(204).send();
    },
  });

  app.delete('/v1/notifications', {
    config,
    schema: { ...operation({ operationId: 'deleteAllNotifications', summary: 'Delete all', tags, access: 'user', ok: { 200: Bodies.deleted }, write: true }), body: NoBody },
    handler: (req) => s.notifications.deleteAll(actorOf(req)),
  });

  app.post<{ Body: SendBody }>('/v1/notifications', {
    config: { auth: 'admin' },
    schema: { ...operation({ operationId: 'sendNotification', summary: 'Send to one or many users (admin API key); retryable with idempotencyKey', tags, access: 'admin', ok: { 201: Bodies.notificationsSent, 200: Bodies.notificationsSent }, write: true }), body: SendNotification },
    handler: async (req, reply) => {
      const result = await s.notifications.send(req.body);
      return reply.status(result.created > 0 ? 201 : 200).send(result);
    },
  });

  app.get('/v1/me/notification-preferences', {
    config,
    schema: { ...operation({ operationId: 'getNotificationPreferences', summary: 'Your notification preferences', tags, access: 'user', ok: { 200: Bodies.preferences } }) },
    handler: (req) => s.notifications.getPreferences(actorOf(req)),
  });

  app.put<{ Body: PrefsBody }>('/v1/me/notification-preferences', {
    config,
    schema: { ...operation({ operationId: 'putNotificationPreferences', summary: 'Replace your preferences: per type and channel, quiet hours, do not disturb', tags, access: 'user', ok: { 200: Bodies.preferences }, write: true }), body: NotificationPreferencesBody },
    handler: (req) => s.notifications.putPreferences(actorOf(req), req.body),
  });

  app.get('/v1/me/devices', {
    config,
    schema: { ...operation({ operationId: 'listDevices', summary: 'Your push devices', tags, access: 'user', ok: { 200: Bodies.devices } }) },
    handler: async (req) => ({ devices: await s.devices.list(actorOf(req)) }),
  });

  app.post<{ Body: DeviceBody }>('/v1/me/devices', {
    config,
    schema: { ...operation({ operationId: 'registerDevice', summary: 'Register an APNs, FCM or Expo token, or a Web Push subscription', tags, access: 'user', ok: { 201: Bodies.device }, write: true }), body: RegisterDevice },
    handler: async (req, reply) => reply.status(201).send({ device: await s.devices.register(actorOf(req), req.body) }),
  });

  app.get('/v1/push/vapid-public-key', {
    config,
    schema: { ...operation({ operationId: 'getVapidPublicKey', summary: 'The VAPID public key browsers subscribe with (applicationServerKey)', tags, access: 'user', ok: { 200: Bodies.vapidKey } }) },
    handler: (req) => {
      actorOf(req); // a user's route like the device routes: an API key must name the user
      return s.devices.vapidPublicKey();
    },
  });

  app.delete<Id>('/v1/me/devices/:id', {
    config,
    schema: { ...operation({ operationId: 'deleteDevice', summary: 'Forget a device', tags, access: 'user', ok: { 204: null }, write: true, resource: true }), params: IdParams, body: NoBody },
    handler: async (req, reply) => {
      await s.devices.remove(actorOf(req), req.params.id);
      return reply.status(204).send();
    },
  });
}
