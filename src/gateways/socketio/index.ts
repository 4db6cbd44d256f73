import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { ServerEvents } from '../../../protocol/events.ts';
import { LIMITS } from '../../../protocol/limits.ts';
import type { Config } from '../../config.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError, toAppError } from '../../errors.ts';
import { originAllowed } from '../origin.ts';
import { openSession, type SessionDeps } from '../session/session.ts';
import { checkProtocolVersion } from '../session/version.ts';
import { writeFlushesWhole } from './flush-whole.ts';

/**
 * Packets engine.io holds while its transport cannot write (a stalled websocket, or polling
 * between requests). Past this the client is a slow consumer, whatever the byte count.
 */
const MAX_QUEUED_PACKETS = 1000;

/** What the server emits, typed by `protocol/event-map.ts` (commands arrive through onAny). */
type EmitEvents = { [E in keyof ServerEvents]: (data: ServerEvents[E]) => void };

/**
 * Socket.IO on the HTTP port: JWT in `auth.token`, refused before connect with a
 * `connect_error` whose `data.code` is the error code; every command acked
 * `{ ok, data | error }` through the shared dispatcher.
 */
export function attachSocketIo(server: HttpServer, config: Config, deps: SessionDeps) {
  const io = new Server<Record<string, never>, EmitEvents>(server, {
    path: '/socket.io',
    maxHttpBufferSize: LIMITS.frameMaxBytes,
    // The plain WebSocket gateway shares the server: leave upgrades for other paths alone.
    destroyUpgrade: false,
    // Runs on every polling request and every upgrade, cookie or not (socket.io's `cors`
    // option only sets headers and would let a cross-site upgrade through).
    allowRequest: (req, callback) => {
      const ok = originAllowed(req, config.corsOrigins);
      callback(ok ? null : 'origin_not_allowed', ok);
    },
    cors: { origin: config.corsOrigins.includes('*') ? true : [...config.corsOrigins], credentials: false },
    pingInterval: config.realtime.pingIntervalMs,
    pingTimeout: Math.max(config.realtime.pingIntervalMs, 5000),
  });

  io.use(async (socket, next) => {
    try {
      const unsupported = checkProtocolVersion((socket.handshake.auth as { v?: unknown } | undefined)?.v);
      if (unsupported) throw unsupported;
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const principal = await deps.services.auth.authenticate(typeof token === 'string' ? token : undefined);
      if (principal.kind !== 'user') throw new AppError('token_invalid', 'Realtime connections take a user token');
      socket.data.actor = principal.actor;
      socket.data.expiresAt = principal.expiresAt;
      next();
    } catch (err) {
      const appErr = toAppError(err);
      next(Object.assign(new Error(appErr.message), { data: appErr.toBody() }));
    }
  });

  /** Bytes ws could not hand to the kernel, plus packets engine.io holds back meanwhile. */
  const rawWs = (socket: Socket) => (socket.conn.transport as unknown as { socket?: { bufferedAmount?: number; terminate?: () => void } }).socket;
  const slow = (socket: Socket) => {
    // The queue is only non-empty while the transport is stalled, so the walk is rare and bounded.
    const queue = (socket.conn as unknown as { writeBuffer: { data?: unknown }[] }).writeBuffer;
    if (queue.length > MAX_QUEUED_PACKETS) return true;
    let bytes = rawWs(socket)?.bufferedAmount ?? 0;
    for (const packet of queue) {
      const data = packet.data;
      bytes += typeof data === 'string' ? Buffer.byteLength(data) : Buffer.isBuffer(data) ? data.length : 0;
      if (bytes > config.realtime.maxBufferedBytes) return true;
    }
    return bytes > config.realtime.maxBufferedBytes;
  };
  const drop = (socket: Socket, why: 'slow consumer' | 'frame flood') => {
    if (socket.conn.readyState !== 'open') return;
    deps.log.warn({ userId: (socket.data.actor as Actor | undefined)?.userId }, `${why}: disconnected`);
    // Discard what is queued and close the transport (not the socket), so the client
    // reconnects and syncs; a peer too stalled to finish the close handshake is cut.
    const ws = rawWs(socket);
    socket.conn.close(true);
    setTimeout(() => ws?.terminate?.(), 1000).unref();
  };

  // One encoding per event, written to every target socket (rooms named by socket id).
  deps.hub.register('socketio', (connections, event, data) => {
    const ids: string[] = [];
    for (const c of connections) {
      const socket = io.sockets.sockets.get(c.id);
      if (!socket) continue;
      if (slow(socket)) drop(socket, 'slow consumer');
      else ids.push(c.id);
    }
    // socket.io cannot resolve its parameter types for a generic event name; the hub checked them.
    if (ids.length) io.to(ids).emit(event, ...([data] as never));
  });

  // The upgrade request (headers, the parser's state) stays referenced by engine.io for the
  // connection's life; nothing needs it once connected (Socket.IO's advice for memory).
  io.engine.on('connection', (raw: { request: unknown }) => {
    raw.request = null;
  });

  io.on('connection', (socket) => {
    writeFlushesWhole(socket.conn.transport);
    socket.conn.on('upgrade', writeFlushesWhole);
    const actor = socket.data.actor as Actor;
    const session = openSession(deps, actor, { id: socket.id, userId: actor.userId, gateway: 'socketio' }, {
      onFlood: () => drop(socket, 'frame flood'),
      // A server-side disconnect: the client does not reconnect by itself, it needs a new token.
      onExpire: () => {
        socket.emit('session:expired', { code: 'token_expired' });
        socket.disconnect(true);
      },
      expiresAt: socket.data.expiresAt as number,
    });
    socket.conn.on('heartbeat', () => void session.heartbeat());
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (a: unknown) => void) : null;
      void session.command(event, args[0]).then((result) => {
        // Acks count toward the bound like events: a client that sends and never reads is cut.
        ack?.(result);
        if (slow(socket)) drop(socket, 'slow consumer');
      });
    });
    socket.on('disconnect', () => void session.close());
  });

  return {
    io,
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}
