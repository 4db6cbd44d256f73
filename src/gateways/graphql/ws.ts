import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { LIMITS } from '../../../protocol/limits.ts';
import type { Config } from '../../config.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError, toAppError } from '../../errors.ts';
import { parseClientJson } from '../json.ts';
import { frameWriter } from '../frame-writer.ts';
import { keepAlive } from '../keepalive.ts';
import { originAllowed } from '../origin.ts';
import { FrameBudget } from '../session/frame-budget.ts';
import { openSession, type Session, type SessionDeps } from '../session/session.ts';
import { textFrame } from '../text-frame.ts';
import { type ContextDeps, createContext, type GraphqlContext, viewerFreeContext } from './context.ts';
import { coded, formatError, RequestRefused } from './errors.ts';
import { LiveConnection } from './live.ts';
import { type NextWriter, subscribeShared } from './shared-execution.ts';
import type { GraphqlRequest, Pipeline } from './pipeline.ts';

export const GRAPHQL_PATH = '/graphql';
const GATEWAY = 'graphql';
/** Operations (subscriptions, and queries not answered yet) one socket may run at once. */
export const MAX_OPERATIONS = 50;
const ALL_OPERATIONS = new Set(['query', 'mutation', 'subscription'] as const);

/**
 * Close codes beyond graphql-ws's own (4400 bad message, 4401 unauthorised, 4408 no
 * connection_init in time, 4409 duplicate operation id, 4429 a second connection_init).
 * graphql-ws clients retry 4403 (calling connectionParams again: a fresh token) and not
 * 4401; both close reasons are the catalogue code.
 */
const CLOSE = { tokenExpired: CloseCode.Forbidden, flood: CloseCode.TooManyInitialisationRequests, restart: 1012 } as const;
// A slow consumer closes with Parley's own 4008 (CLOSE_CODES.slowConsumer), which graphql-ws clients retry.

/** One listener for every socket (an idle connection holds no function of its own for it). */
const ignoreError = () => {};

interface Extra {
  ws: WebSocket;
  /** The TCP socket under the WebSocket, which takes pre-framed frames (see text-frame.ts). */
  tcp: Duplex;
  /** Its socket is corked until the tick ends (tick-end.ts). */
  atTickEnd: boolean;
  id: string;
  budget: FrameBudget;
  actor: Actor | null;
  live: LiveConnection | null;
  session: Session | null;
}

/** `token`, `authorization` (Bearer or bare) or `headers.authorization` in the connection_init payload. */
function tokenFrom(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  const headers = params.headers && typeof params.headers === 'object' ? (params.headers as Record<string, unknown>) : {};
  for (const v of [params.token, params.authorization, params.Authorization, headers.authorization, headers.Authorization]) {
    if (typeof v === 'string' && v) return /^Bearer\s+(\S+)\s*$/i.exec(v)?.[1] ?? v;
  }
  return undefined;
}

const closeWith = (ws: WebSocket, code: number, reason: string) => {
  if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
};

export interface GraphqlWsDeps extends SessionDeps {
  schema: GraphQLSchema;
  pipeline: Pipeline;
  context: ContextDeps;
}

/**
 * GraphQL over WebSocket at /graphql, speaking graphql-ws (graphql-transport-ws): the JWT
 * in the connection_init payload, subscriptions fed by the hub like every realtime
 * gateway's connections, queries and mutations too. Each socket is a session (presence,
 * token expiry) with a frame budget; operations go through the same pipeline as HTTP.
 */
export function attachGraphqlWs(server: HttpServer, config: Config, deps: GraphqlWsDeps) {
  const { services, log } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.frameMaxBytes, handleProtocols });
  const lives = new Map<string, LiveConnection>();
  const unregister = deps.hub.register(GATEWAY, (connections, event, data) => {
    for (const c of connections) lives.get(c.id)?.deliver(event, data);
  });
  const onInternal = (err: unknown) => log.error({ err }, 'graphql operation failed');
  /** Each operation's writer of its next frames, by its context (the one object graphql-ws hands `subscribe`). */
  const writers = new WeakMap<GraphqlContext, NextWriter>();

  const gql = makeServer<Record<string, unknown>, Extra>({
    schema: deps.schema,
    // Live events are executed once per operation for all their subscribers, and written from there (shared-execution.ts).
    subscribe: (args) =>
      subscribeShared(
        args,
        (c) => viewerFreeContext(c as GraphqlContext),
        (c) => writers.get(c as GraphqlContext),
      ),
    connectionInitWaitTimeout: config.graphql.initTimeoutMs,
    async onConnect(ctx) {
      const { ws } = ctx.extra;
      let principal: Awaited<ReturnType<typeof services.auth.authenticate>>;
      try {
        principal = await services.auth.authenticate(tokenFrom(ctx.connectionParams));
        if (principal.kind !== 'user') throw new AppError('token_invalid', 'GraphQL over WebSocket takes a user token');
      } catch (err) {
        closeWith(ws, CloseCode.Unauthorized, toAppError(err).code);
        return false;
      }
      if (ws.readyState !== WebSocket.OPEN) return false;
      const { actor } = principal;
      const { budget } = ctx.extra;
      const live = new LiveConnection(ctx.extra.id, actor.userId, (frames) => budget.charge(frames));
      lives.set(live.id, live);
      Object.assign(ctx.extra, { actor, live });
      ctx.extra.session = openSession(deps, actor, { id: live.id, userId: actor.userId, gateway: GATEWAY }, {
        onFlood: () => closeWith(ws, CLOSE.flood, 'flood'),
        onExpire: () => closeWith(ws, CLOSE.tokenExpired, 'token_expired'),
      }, principal.expiresAt);
      return true;
    },
    onSubscribe(ctx, id, payload) {
      const { actor, live } = ctx.extra;
      if (!actor || !live) return [coded('auth_required')];
      // The new operation is in ctx.subscriptions already.
      if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS) {
        return [coded('too_many_operations', `This connection runs ${MAX_OPERATIONS} operations already; complete one first`)];
      }
      try {
        const prepared = deps.pipeline.prepare(payload as GraphqlRequest, ALL_OPERATIONS);
        const contextValue = createContext(deps.context, actor, live.id, live);
        const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
        writers.set(contextValue, (json) => write(ctx.extra, `${head}${json}}`));
        return {
          schema: deps.schema,
          document: prepared.document,
          operationName: payload.operationName ?? null,
          variableValues: prepared.variables,
          contextValue,
        };
      } catch (err) {
        if (err instanceof RequestRefused) return err.errors;
        throw err;
      }
    },
    onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatError(e, onInternal)) } : undefined),
    onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e, onInternal)),
    async onClose(ctx) {
      const { live, session } = ctx.extra;
      if (live) {
        lives.delete(live.id);
        live.close();
      }
      await session?.close();
    },
  });

  /** Each socket's connection state, for its pongs (presence). */
  const extras = new WeakMap<WebSocket, Extra>();
  const pings = keepAlive(wss, config.realtime.pingIntervalMs, (ws) => void extras.get(ws)?.session?.heartbeat());

  /**
   * Every frame graphql-ws sends leaves as /v1/ws's do (frame-writer.ts): corked until the tick
   * ends, so a mutation's result and its complete, and the events of a batch, share a write
   * where ws.send made a write of each (a third of the gateway's CPU under load, issue 9).
   * graphql-ws is answered at once rather than once written, so a subscription's next event
   * does not wait for the last one's write; what a connection can make the server hold is
   * bounded by its unsent bytes instead: past PARLEY_MAX_BUFFERED_BYTES it is a slow
   * consumer, closed 4008 (reconnect and recover).
   */
  const writeFrame = frameWriter<Extra>(
    config.realtime.maxBufferedBytes,
    log,
    (extra) => extra.ws,
    (extra) => extra.actor?.userId,
  );
  const write = (extra: Extra, data: string): void => writeFrame(extra, textFrame(data));

  function onConnection(ws: WebSocket, tcp: Duplex) {
    const budget = new FrameBudget(deps.frameBudget, { onFlood: () => closeWith(ws, CLOSE.flood, 'flood') });
    const extra: Extra = { ws, tcp, atTickEnd: false, id: randomUUID(), budget, actor: null, live: null, session: null };
    extras.set(ws, extra);
    pings.track(ws);
    // ws closes the socket itself on protocol errors (1009 for a frame over 64 KiB).
    ws.on('error', ignoreError);
    const closed = gql.opened(
      {
        protocol: ws.protocol,
        send: (data) => write(extra, data),
        close: (code, reason) => closeWith(ws, code ?? 1000, reason ?? ''),
        onMessage: (handle) =>
          ws.on('message', async (raw) => {
            const text = String(raw);
            let message: unknown;
            try {
              // The same JSON rules as every gateway (depth, __proto__, storable strings).
              message = parseClientJson(text);
            } catch (err) {
              return closeWith(ws, CloseCode.BadRequest, toAppError(err).code);
            }
            // Completing an operation frees what it holds: never refused.
            if ((message as { type?: unknown } | null)?.type !== 'complete' && !budget.take()) {
              const { type, id } = (message ?? {}) as { type?: unknown; id?: unknown };
              if (type === 'subscribe' && typeof id === 'string' && ws.readyState === WebSocket.OPEN) {
                write(extra, JSON.stringify({ type: 'error', id, payload: [coded('rate_limited', 'Too many frames', { retryAfter: 1 }).toJSON()] }));
              }
              return;
            }
            try {
              await handle(text);
            } catch (err) {
              // graphql-ws throws for what it cannot handle; the socket goes, the process stays.
              onInternal(err);
              closeWith(ws, CloseCode.InternalServerError, 'internal_error');
            }
          }),
      },
      extra,
    );
    ws.once('close', (code, reason) => void closed(code, String(reason)).catch(onInternal));
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== GRAPHQL_PATH) return;
    if (!originAllowed(req, config.corsOrigins)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":{"code":"origin_not_allowed"}}');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket));
  };
  server.on('upgrade', onUpgrade);

  return {
    wss,
    async close() {
      pings.stop();
      server.off('upgrade', onUpgrade);
      unregister();
      for (const ws of wss.clients) ws.close(CLOSE.restart, 'restart');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
