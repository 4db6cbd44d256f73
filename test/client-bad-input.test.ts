import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { Server } from 'socket.io';
import { WebSocketServer } from 'ws';
import { tokenFor, uid, waitFor } from './helpers/harness.ts';
import { sdkClients } from './helpers/sdk.ts';

const VALID_PRESENCE = { userId: 'someone', status: 'online', customStatus: null, lastSeenAt: null };
const message = (conversationId: string) => ({ id: 'm1', conversationId, seq: 1, senderId: 'x', clientMsgId: 'c', body: 'b', attachments: [], replyTo: null, replyCount: 0, mentions: [], reactions: [], createdAt: '2026-01-01T00:00:00Z', editedAt: null, deletedAt: null });

/** Events a broken or newer server might send: each must be dropped and counted, never thrown. */
const GARBAGE: { event: string; data: unknown; kind: 'unknown' | 'malformed' }[] = [
  { event: 'wat:new', data: {}, kind: 'unknown' },
  { event: '__proto__', data: {}, kind: 'unknown' },
  { event: 'constructor', data: {}, kind: 'unknown' },
  { event: 'message:new', data: { conversationId: 5 }, kind: 'malformed' },
  { event: 'message:new', data: null, kind: 'malformed' },
  { event: 'message:new', data: { conversationId: 'c1', seq: 1e300, message: message('c1') }, kind: 'malformed' },
  { event: 'message:new', data: { conversationId: 'c1', seq: 1, message: message('c2') }, kind: 'malformed' },
  { event: 'typing:update', data: { conversationId: 'c', userId: 'u', typing: 'yes' }, kind: 'malformed' },
  { event: 'notification:new', data: { notification: 'x', unreadCount: 1 }, kind: 'malformed' },
  { event: 'unread:update', data: [], kind: 'malformed' },
];

/**
 * A local server speaking Parley's protocol badly: REST answers the client's start-up
 * calls, the realtime side says `ready`, answers `sync` with a malformed page, then sends
 * garbage followed by one valid event.
 */
async function badServer(transport: 'ws' | 'socketio') {
  const server = http.createServer((req, res) => {
    const body = req.url?.startsWith('/v1/conversations')
      ? { conversations: [], nextCursor: null }
      : req.url === '/v1/me/unread'
        ? { totalUnread: 0, conversations: {} }
        : req.url === '/v1/notifications/unread-count'
          ? { unreadCount: 0 }
          : { error: { code: 'route_not_found', message: 'no' } };
    res.writeHead('error' in body ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const ready = { userId: 'me', connectionId: 'c-1' };
  const badSync = { ok: true, data: { changes: 'all of them', hasMore: false } };
  let io: Server | null = null;
  let wss: WebSocketServer | null = null;
  if (transport === 'socketio') {
    io = new Server(server);
    io.on('connection', (socket) => {
      socket.on('sync', (_data: unknown, ack: (a: unknown) => void) => ack(badSync));
      socket.emit('ready', ready);
      for (const g of GARBAGE) socket.emit(g.event, g.data);
      socket.emit('presence:update', VALID_PRESENCE);
    });
  } else {
    wss = new WebSocketServer({ server, path: '/v1/ws' });
    wss.on('connection', (ws) => {
      ws.on('message', (raw) => {
        const frame = JSON.parse(raw.toString());
        if (frame.type === 'sync') ws.send(JSON.stringify({ type: 'ack', id: frame.id, ...badSync }));
      });
      ws.send(JSON.stringify({ type: 'ready', data: ready }));
      for (const raw of ['not json {', '[1,2,3]', '{"data":{}}', '{"type":7}']) ws.send(raw);
      for (const g of GARBAGE) ws.send(JSON.stringify({ type: g.event, data: g.data }));
      ws.send(JSON.stringify({ type: 'presence:update', data: VALID_PRESENCE }));
    });
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Frames no JSON reader could take as an event (the plain WebSocket only). */
    unreadableFrames: transport === 'ws' ? 4 : 0,
    async close() {
      io?.close();
      for (const c of wss?.clients ?? []) c.terminate();
      wss?.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('client: bad input from the server', () => {
  const clients = sdkClients();
  after(() => clients.closeAll());

  for (const transport of ['ws', 'socketio'] as const) {
    test(`${transport}: unknown events and malformed payloads are ignored and counted, never thrown into the app`, async () => {
      const server = await badServer(transport);
      try {
        const c = clients.make({ url: server.url, token: await tokenFor(uid()), transport });
        let heard = 0;
        c.on('presence:update', () => {
          throw new Error('a bug in the app’s listener');
        });
        c.on('presence:update', () => heard++);
        // The valid event after the garbage still arrives: the connection and the stores live on.
        await waitFor(() => c.presence.get().someone?.status === 'online', 10_000, 'the valid event');
        assert.equal(heard, 1, 'a throwing listener does not stop the next one');
        assert.equal(c.connection.get().status, 'connected');
        const expected = {
          unknown: GARBAGE.filter((g) => g.kind === 'unknown').length,
          malformed: GARBAGE.filter((g) => g.kind === 'malformed').length + server.unreadableFrames,
        };
        // The malformed sync page is counted too, once it has been answered.
        await waitFor(() => c.stats.get().malformedEvents === expected.malformed + 1, 10_000, 'malformed counted');
        assert.equal(c.stats.get().unknownEvents, expected.unknown);
        assert.equal(c.stats.get().handlerErrors, 0);
        assert.deepEqual(Object.keys(c.typing.get()), []);
        assert.deepEqual(Object.keys(c.conversations.get().byId), []);
        const errors = c.errors.map(String);
        assert.ok(errors.some((e) => /listener/.test(e)), 'the listener error is reported to onError');
        assert.ok(errors.some((e) => /malformed sync reply/.test(e)), 'the bad sync page is reported to onError');
      } finally {
        await server.close();
      }
    });
  }
});
