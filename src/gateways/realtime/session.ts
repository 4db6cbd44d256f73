import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Ack } from '../../../protocol/events.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError } from '../../errors.ts';
import type { Connection, Hub } from '../../realtime/hub.ts';
import type { Services } from '../../services/index.ts';
import type { Dispatch } from './commands.ts';

export interface SessionDeps {
  services: Services;
  hub: Hub;
  dispatch: Dispatch;
  log: Logger;
}

/** Frames a connection may send in a burst, and per second after it, before being refused. */
const BURST = 100;
const PER_SECOND = 50;
/** Refused frames, with no 10-second pause between them, after which the connection is closed as a flood. */
const FLOOD_CLOSE_AFTER = 200;
const FLOOD_FORGET_MS = 10_000;

/**
 * What both realtime gateways do around a connection: register it with the hub and
 * presence, run its commands through the dispatcher under a per-connection frame budget,
 * and on close release its typing, locks and presence. Gateways only translate frames.
 */
export interface SessionHooks {
  /** The connection sent far more frames than its budget: close it. */
  onFlood(): void;
  /** The token it authenticated with expired: close it so the client comes back with a new one. */
  onExpire(): void;
  /** When the token expires (ms since epoch). */
  expiresAt: number;
}

export function openSession(deps: SessionDeps, actor: Actor, connection: Connection, hooks: SessionHooks) {
  // Changes made through this connection are answered by ack and not echoed back to it.
  const ctx = { actor: { ...actor, deviceId: connection.id }, connectionId: connection.id };
  let tokens = BURST;
  let refilledAt = Date.now();
  // Accepted frames in between do not reset it: a flooder whose budget trickles back
  // (50 a second) would otherwise never be closed.
  let refused = 0;
  let lastRefusalAt = 0;
  let closed = false;

  // setTimeout holds at most ~24.8 days; a token living longer is re-checked then.
  const expiry = setTimeout(hooks.onExpire, Math.min(Math.max(0, hooks.expiresAt - Date.now()), 2 ** 31 - 1));
  expiry.unref();
  deps.hub.add(connection);
  void deps.services.presence.connected(actor, connection.id).catch((err) => deps.log.error({ err }, 'presence connect failed'));
  deps.hub.emitTo([actor.userId], 'ready', { userId: actor.userId, connectionId: connection.id }, (c) => c !== connection);

  return {
    connection,
    async command(name: unknown, data: unknown): Promise<Ack> {
      const now = Date.now();
      tokens = Math.min(BURST, tokens + ((now - refilledAt) / 1000) * PER_SECOND);
      refilledAt = now;
      if (tokens < 1) {
        if (now - lastRefusalAt > FLOOD_FORGET_MS) refused = 0;
        lastRefusalAt = now;
        if (++refused >= FLOOD_CLOSE_AFTER) hooks.onFlood();
        return { ok: false, error: new AppError('rate_limited', 'Too many frames', { retryAfter: 1 }).toBody() };
      }
      tokens--;
      return deps.dispatch(ctx, name, data);
    },
    heartbeat: () => deps.services.presence.heartbeat(actor, connection.id).catch(() => {}),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(expiry);
      deps.hub.remove(connection);
      deps.services.typing.dropConnection(connection.id);
      deps.services.notificationFilters.dropConnection(connection.id);
      try {
        await deps.services.locks.dropConnection(connection.id);
        await deps.services.presence.disconnected(actor, connection.id);
      } catch (err) {
        deps.log.error({ err }, 'session cleanup failed');
      }
    },
  };
}

export type Session = ReturnType<typeof openSession>;
