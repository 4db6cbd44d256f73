import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Ack } from '../../../protocol/events.ts';
import { LIMITS } from '../../../protocol/limits.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError } from '../../errors.ts';
import type { Connection, Hub } from '../../realtime/hub.ts';
import type { Services } from '../../services/index.ts';
import type { Dispatch } from './commands.ts';
import { type FrameBudgetLimits, frameBudget } from './frame-budget.ts';

export interface SessionDeps {
  services: Services;
  hub: Hub;
  dispatch: Dispatch;
  log: Logger;
  /** Frames a connection may send in a burst, and per second after it, before being refused (PARLEY_FRAME_BURST, PARLEY_FRAME_RATE). */
  frameBudget: FrameBudgetLimits;
  /** Handed each session's cleanup (presence, typing, locks), so shutdown can wait for it. */
  track?(cleanup: Promise<void>): void;
}

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
  const budget = frameBudget(deps.frameBudget, hooks.onFlood);
  let closed = false;
  let syncing = false;

  // setTimeout holds at most ~24.8 days; a token living longer is re-checked then.
  const expiry = setTimeout(hooks.onExpire, Math.min(Math.max(0, hooks.expiresAt - Date.now()), 2 ** 31 - 1));
  expiry.unref();
  deps.hub.add(connection);
  const openedAt = Date.now();
  const who = { userId: actor.userId, connectionId: connection.id, gateway: connection.gateway };
  deps.log.info(who, 'realtime connected');
  void deps.services.presence.connected(actor, connection.id).catch((err) => deps.log.error({ err }, 'presence connect failed'));
  deps.hub.emitTo([actor.userId], 'ready', { userId: actor.userId, connectionId: connection.id }, (c) => c !== connection);

  /** Releases what the connection held: typing, locks, presence (shared state on Redis). */
  async function cleanup() {
    if (closed) return;
    closed = true;
    clearTimeout(expiry);
    deps.log.info({ ...who, seconds: Math.round((Date.now() - openedAt) / 1000) }, 'realtime disconnected');
    deps.hub.remove(connection);
    deps.services.notificationFilters.dropConnection(connection.id);
    try {
      await deps.services.typing.dropConnection(connection.id);
      await deps.services.locks.dropConnection(connection.id);
      await deps.services.presence.disconnected(actor, connection.id);
    } catch (err) {
      deps.log.error({ err }, 'session cleanup failed');
    }
  }

  return {
    connection,
    async command(name: unknown, data: unknown): Promise<Ack> {
      if (!budget.take()) return { ok: false, error: new AppError('rate_limited', 'Too many frames', { retryAfter: 1 }).toBody() };
      if (name !== 'sync') return deps.dispatch(ctx, name, data);
      // A sync reads and sends up to a page: one at a time per connection, and its reply is
      // paid for like the frames it takes (one per 64 KiB beyond the first).
      if (syncing) return { ok: false, error: new AppError('rate_limited', 'One sync at a time per connection: wait for its answer', { retryAfter: 1 }).toBody() };
      syncing = true;
      try {
        const ack = await deps.dispatch(ctx, name, data);
        if (ack.ok) budget.charge(Math.floor(Buffer.byteLength(JSON.stringify(ack.data)) / LIMITS.frameMaxBytes));
        return ack;
      } finally {
        syncing = false;
      }
    },
    heartbeat: () => (closed ? Promise.resolve() : deps.services.presence.heartbeat(actor, connection.id).catch(() => {})),
    close() {
      const done = cleanup();
      deps.track?.(done);
      return done;
    },
  };
}

export type Session = ReturnType<typeof openSession>;
