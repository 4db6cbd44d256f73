import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { CLOSE_CODES, type WsServerFrame } from '../../../protocol/events.ts';
import { LIMITS } from '../../../protocol/limits.ts';
import type { Config } from '../../config.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError, toAppError } from '../../errors.ts';
import type { Connection } from '../../realtime/hub.ts';
import { parseClientJson } from '../json.ts';
import { frameWriter } from '../frame-writer.ts';
import { keepAlive } from '../keepalive.ts';
import { originAllowed } from '../origin.ts';
import { openSession, type Session, type SessionDeps, type SessionHooks } from '../session/session.ts';
import { checkProtocolVersion } from '../session/version.ts';
import { textFrame } from '../text-frame.ts';

/** One listener for every socket (an idle connection holds no function of its own for it). */
const ignoreError = () => {};

/**
 * A /v1/ws connection: the socket ws makes for it (WebSocketServer's `WebSocket` option),
 * carrying its session and the TCP socket under it, and the hub's Connection itself. So the
 * gateway's listeners are shared functions reading `this`, fan-out writes to the connection
 * the hub hands it without a lookup, and an idle connection holds no closures of its own
 * (issue 9 prices 10,000 of them).
 */
class Client extends WebSocket implements Connection, SessionHooks {
  id = '';
  userId = '';
  /** The TCP socket under the WebSocket, which takes pre-framed events (see text-frame.ts). */
  tcp: Duplex | null = null;
  session: Session | null = null;
  /** Its socket is corked until the tick ends (tick-end.ts). */
  atTickEnd = false;

  get gateway() {
    return 'ws';
  }

  onFlood() {
    this.close(CLOSE_CODES.flood, 'flood');
  }

  onExpire() {
    this.close(CLOSE_CODES.tokenExpired, 'token_expired');
  }
}

export const WS_PATH = '/v1/ws';

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/**
 * The plain WebSocket gateway at /v1/ws: JSON frames `{ type, id?, data }`, replies
 * `{ type: "ack", id, ok, data | error }`, events `{ type, data }`. Close codes carry
 * meaning (see CLOSE_CODES): 4000-4499 reconnect, 4500-4999 do not.
 */
export function attachWs(server: HttpServer, config: Config, deps: SessionDeps) {
  // No permessage-deflate (ws's default, stated because pre-framed events rely on it).
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.frameMaxBytes, perMessageDeflate: false, WebSocket: Client });
  const pings = keepAlive(wss, config.realtime.pingIntervalMs, (client) => void client.session?.heartbeat());

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return; // Socket.IO's own path, or nobody's
    if (!originAllowed(req, config.corsOrigins)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":{"code":"origin_not_allowed"}}');
      return;
    }
    if (checkProtocolVersion(url.searchParams.get('v') ?? undefined)) {
      wss.handleUpgrade(req, socket, head, (ws) => ws.close(CLOSE_CODES.protocolUnsupported, 'protocol_unsupported'));
      return;
    }
    // The handshake completes only once the token is checked, so the session is ready for
    // the first frame. Browsers cannot read a failed handshake's status, so a bad token is
    // told by close code after the upgrade.
    deps.services.auth.authenticate(tokenOf(req, url)).then(
      (principal) => {
        if (principal.kind !== 'user') throw new AppError('token_invalid', 'Realtime connections take a user token');
        wss.handleUpgrade(req, socket, head, (client) => onConnection(client, socket, principal.actor, principal.expiresAt));
      },
    ).catch((err) => {
      const e = toAppError(err);
      if (socket.destroyed) return;
      // Storage down is not the client's fault: a reconnect code (4000-4499), not 4501.
      const code = e.code === 'unavailable' ? CLOSE_CODES.unavailable : CLOSE_CODES.unauthorized;
      wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, e.code));
    });
  };
  server.on('upgrade', onUpgrade);

  // Frames leave through the shared writer: corked until the tick ends, slow consumers cut (frame-writer.ts).
  const write = frameWriter<Client>(
    config.realtime.maxBufferedBytes,
    deps.log,
    (client) => client,
    (client) => client.userId,
  );
  const send = (client: Client, frame: WsServerFrame) => write(client, textFrame(JSON.stringify(frame)));
  // One JSON encoding and one frame per event, the same bytes written to every target socket.
  deps.hub.register('ws', (connections, event, data) => {
    const frame = textFrame(JSON.stringify({ type: event, data }));
    for (const c of connections) if (c instanceof Client) write(c, frame);
  });

  // ws calls listeners on the socket, which is a Client: the server makes no other kind.
  function onMessage(this: WebSocket, raw: RawData, isBinary: boolean) {
    const client = this as Client;
    const { session } = client;
    if (!session) return;
    let frame: unknown;
    try {
      if (isBinary) throw new AppError('invalid_json', 'Frames are JSON text');
      frame = parseClientJson(raw.toString());
    } catch (err) {
      return send(client, { type: 'error', error: toAppError(err).toBody() });
    }
    if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
      return send(client, { type: 'error', error: new AppError('validation_failed', 'A frame is an object: { type, id?, data }').toBody() });
    }
    const { type, id, data } = frame as { type?: unknown; id?: unknown; data?: unknown };
    const replyId = typeof id === 'string' || typeof id === 'number' ? id : null;
    void session.command(type, data).then((ack) => send(client, { type: 'ack', id: replyId, ...ack }));
  }

  function onClose(this: WebSocket) {
    void (this as Client).session?.close();
  }

  function onConnection(client: Client, socket: Duplex, actor: Actor, expiresAt: number) {
    client.id = randomUUID();
    client.userId = actor.userId;
    client.tcp = socket;
    client.session = openSession(deps, actor, client, client, expiresAt);
    pings.track(client);
    client.on('message', onMessage);
    client.on('close', onClose);
    // ws closes the connection itself on protocol errors (1002, 1009 for an oversized frame).
    client.on('error', ignoreError);
  }

  return {
    wss,
    async close() {
      pings.stop();
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.close(CLOSE_CODES.restart, 'restart');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
