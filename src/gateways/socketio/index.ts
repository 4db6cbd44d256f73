import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { ServerEvents } from '../../../protocol/events.ts';
import { LIMITS } from '../../../protocol/limits.ts';
import type { Config } from '../../config.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError, toAppError } from '../../errors.ts';
import { originAllowed } from '../origin.ts';
import { openSession, type Session, type SessionDeps, type SessionHooks } from '../session/session.ts';
import { checkProtocolVersion } from '../session/version.ts';
import { type EventPacket, eventPacket, tickWriter } from './write-per-tick.ts';

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
  type Queue = { data?: unknown }[];
  /** How much of a connection's engine.io queue has been counted (kept in the socket's `data`). */
  type Counted = { queue: Queue; packets: number; bytes: number };
  /**
   * Bytes in engine.io's queue. It holds the tick's packets until its end (write-per-tick.ts)
   * and, while the transport is stalled, everything since; engine.io only appends to it and
   * replaces it whole when it flushes, so each packet is counted once, by the first check
   * that sees it, and a new queue starts the count again.
   */
  const queuedBytes = (socket: Socket, queue: Queue) => {
    let c = socket.data.queued as Counted | undefined;
    if (!c) {
      c = { queue, packets: 0, bytes: 0 };
      socket.data.queued = c;
    } else if (c.queue !== queue) {
      c.queue = queue;
      c.packets = 0;
      c.bytes = 0;
    }
    for (; c.packets < queue.length; c.packets++) {
      const data = queue[c.packets]!.data;
      c.bytes += typeof data === 'string' ? Buffer.byteLength(data) : Buffer.isBuffer(data) ? data.length : 0;
    }
    return c.bytes;
  };
  const slow = (socket: Socket) => {
    const queue = (socket.conn as unknown as { writeBuffer: Queue }).writeBuffer;
    if (queue.length > MAX_QUEUED_PACKETS) return true;
    return (rawWs(socket)?.bufferedAmount ?? 0) + queuedBytes(socket, queue) > config.realtime.maxBufferedBytes;
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

  const writer = tickWriter((err) => deps.log.error({ err }, 'socket.io write failed'));
  // One encoding and one frame per event, the same bytes written to every target (write-per-tick.ts).
  deps.hub.register('socketio', (connections, event, data) => {
    let packet: EventPacket | undefined;
    for (const c of connections) {
      const socket = io.sockets.sockets.get(c.id);
      if (!socket) continue;
      if (slow(socket)) {
        drop(socket, 'slow consumer');
        continue;
      }
      packet ??= eventPacket(event, data);
      writer.write(socket.conn, packet);
    }
  });

  io.engine.on('connection', (raw: { request: unknown }) => {
    // The upgrade request (headers, the parser's state) stays referenced by engine.io for the
    // connection's life; nothing needs it once connected (Socket.IO's advice for memory).
    raw.request = null;
    writer.attach(raw);
  });

  /**
   * A connection's answers to its session: one object each, the methods shared. As closures
   * over the connection's scope (these two, and the command, heartbeat and disconnect
   * listeners below) an idle connection held five functions and their context.
   */
  class Hooks implements SessionHooks {
    constructor(private readonly socket: Socket) {}

    onFlood() {
      drop(this.socket, 'frame flood');
    }

    // A server-side disconnect: the client does not reconnect by itself, it needs a new token.
    onExpire() {
      this.socket.emit('session:expired', { code: 'token_expired' });
      this.socket.disconnect(true);
    }
  }
  /**
   * Each engine.io connection's session, for its heartbeats (engine.io calls the listener on
   * the connection). Sessions, when a client opened the main namespace twice on one connection
   * (Socket.IO takes a second CONNECT sent while the first is being authenticated): each keeps
   * its heartbeats, and a closed one ignores them (test/presence.test.ts).
   */
  const sessionsOf = new WeakMap<object, Session | Session[]>();
  function onHeartbeat(this: object) {
    const held = sessionsOf.get(this);
    if (!Array.isArray(held)) return void held?.heartbeat();
    for (const session of held) void session.heartbeat();
  }
  // Socket.IO calls these on the socket: shared by every connection.
  function onCommand(this: Socket, event: unknown, ...args: unknown[]) {
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (a: unknown) => void) : null;
    void (this.data.session as Session).command(event, args[0]).then((result) => {
      // Acks count toward the bound like events: a client that sends and never reads is cut.
      ack?.(result);
      if (slow(this)) drop(this, 'slow consumer');
    });
  }
  function onDisconnect(this: Socket) {
    void (this.data.session as Session).close();
  }

  io.on('connection', (socket) => {
    writer.writeAcks(socket);
    const actor = socket.data.actor as Actor;
    const session = openSession(deps, actor, { id: socket.id, userId: actor.userId, gateway: 'socketio' }, new Hooks(socket), socket.data.expiresAt as number);
    socket.data.session = session;
    const held = sessionsOf.get(socket.conn);
    if (held === undefined) {
      sessionsOf.set(socket.conn, session);
      socket.conn.on('heartbeat', onHeartbeat);
    } else sessionsOf.set(socket.conn, Array.isArray(held) ? [...held, session] : [held, session]);
    socket.onAny(onCommand);
    socket.on('disconnect', onDisconnect);
  });

  return {
    io,
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}
