import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Ack } from '../../../protocol/events.ts';
import { LIMITS } from '../../../protocol/limits.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError } from '../../errors.ts';
import type { Connection, Hub } from '../../realtime/hub.ts';
import type { Services } from '../../services/index.ts';
import type { Dispatch } from './commands.ts';
import type { Expiring, ExpiryQueue } from './expiries.ts';
import { FrameBudget, type FrameBudgetLimits } from './frame-budget.ts';

export interface SessionDeps {
  services: Services;
  hub: Hub;
  dispatch: Dispatch;
  log: Logger;
  /** Frames a connection may send in a burst, and per second after it, before being refused (PARLEY_FRAME_BURST, PARLEY_FRAME_RATE). */
  frameBudget: FrameBudgetLimits;
  /** Where sessions wait for their tokens to expire: one timer for all of them (expiries.ts). */
  expiries: ExpiryQueue;
  /** Handed each session's cleanup (presence, typing, locks), so shutdown can wait for it. */
  track?(cleanup: Promise<void>): void;
}

/**
 * What both realtime gateways do around a connection: register it with the hub and
 * presence, run its commands through the dispatcher under a per-connection frame budget,
 * and on close release its typing, locks and presence. Gateways only translate frames.
 * Methods, not callbacks handed over: a gateway's connection object can answer them itself
 * and hold no closure per connection.
 */
export interface SessionHooks {
  /** The connection sent far more frames than its budget: close it. */
  onFlood(): void;
  /** The token it authenticated with expired: close it so the client comes back with a new one. */
  onExpire(): void;
}

/**
 * One connection's session. A class: an idle connection holds this one object where a
 * session of closures held a function per method and the scope they share (10,000 idle
 * connections are what issue 9 prices).
 */
export class Session implements Expiring {
  /** What commands run as. Changes made through this connection are answered by ack and not echoed back to it. */
  private readonly ctx: { actor: Actor; connectionId: string };
  private readonly budget: FrameBudget;
  expiryIndex = -1;
  private readonly openedAt = Date.now();
  private closed = false;
  private syncing = false;

  /** `expiresAt`: when the token expires (ms since epoch); the gateway's onExpire is called then. */
  constructor(
    private readonly deps: SessionDeps,
    actor: Actor,
    readonly connection: Connection,
    private readonly hooks: SessionHooks,
    readonly expiresAt: number,
  ) {
    // Spelled out, not `{ ...actor, deviceId }`: V8 gave each spread copy a hidden class of
    // its own once deviceId was added (about 150 bytes of every connection). Realtime
    // connections take user tokens only, so an actor is its userId.
    this.ctx = { actor: { userId: actor.userId, deviceId: connection.id }, connectionId: connection.id };
    this.budget = new FrameBudget(deps.frameBudget, hooks);
    deps.expiries.add(this);
    deps.hub.add(connection);
    deps.log.info(this.who(), 'realtime connected');
    void deps.services.presence.connected(this.ctx.actor, connection.id).catch((err) => deps.log.error({ err }, 'presence connect failed'));
    deps.hub.emitTo([actor.userId], 'ready', { userId: actor.userId, connectionId: connection.id }, (c) => c !== connection);
  }

  expire(): void {
    this.hooks.onExpire();
  }

  private who() {
    return { userId: this.connection.userId, connectionId: this.connection.id, gateway: this.connection.gateway };
  }

  async command(name: unknown, data: unknown): Promise<Ack> {
    const { deps } = this;
    if (!this.budget.take()) return { ok: false, error: new AppError('rate_limited', 'Too many frames', { retryAfter: 1 }).toBody() };
    if (name !== 'sync') return deps.dispatch(this.ctx, name, data);
    // A sync reads and sends up to a page: one at a time per connection, and its reply is
    // paid for like the frames it takes (one per 64 KiB beyond the first).
    if (this.syncing) return { ok: false, error: new AppError('rate_limited', 'One sync at a time per connection: wait for its answer', { retryAfter: 1 }).toBody() };
    this.syncing = true;
    try {
      const ack = await deps.dispatch(this.ctx, name, data);
      if (ack.ok) this.budget.charge(Math.floor(Buffer.byteLength(JSON.stringify(ack.data)) / LIMITS.frameMaxBytes));
      return ack;
    } finally {
      this.syncing = false;
    }
  }

  heartbeat(): Promise<void> {
    return this.closed ? Promise.resolve() : this.deps.services.presence.heartbeat(this.ctx.actor, this.connection.id).catch(() => {});
  }

  close(): Promise<void> {
    const done = this.cleanup();
    this.deps.track?.(done);
    return done;
  }

  /** Releases what the connection held: typing, locks, presence (shared state on Redis). */
  private async cleanup(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { deps, connection } = this;
    deps.expiries.remove(this);
    deps.log.info({ ...this.who(), seconds: Math.round((Date.now() - this.openedAt) / 1000) }, 'realtime disconnected');
    deps.hub.remove(connection);
    deps.services.notificationFilters.dropConnection(connection.id);
    try {
      await deps.services.typing.dropConnection(connection.id);
      await deps.services.locks.dropConnection(connection.id);
      await deps.services.presence.disconnected(this.ctx.actor, connection.id);
    } catch (err) {
      deps.log.error({ err }, 'session cleanup failed');
    }
  }
}

export const openSession = (deps: SessionDeps, actor: Actor, connection: Connection, hooks: SessionHooks, expiresAt: number) =>
  new Session(deps, actor, connection, hooks, expiresAt);
