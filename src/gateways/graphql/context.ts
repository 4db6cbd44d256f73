import type { CommandName } from '../../../protocol/events.ts';
import type { Actor, User } from '../../domain/types.ts';
import { AppError } from '../../errors.ts';
import type { RateLimiter } from '../../realtime/rate-limiter.ts';
import type { Services } from '../../services/index.ts';
import type { Dispatch } from '../session/commands.ts';
import type { LiveConnection } from './live.ts';
import { batchLoader } from './loaders.ts';

/** What every resolver gets: who calls, the services, and this request's loaders. */
export interface GraphqlContext {
  actor: Actor;
  services: Services;
  /** A public profile, batched with every other asked for in this request. */
  user(id: string): Promise<User>;
  /**
   * Runs a realtime command through the dispatcher every realtime gateway shares: payload
   * schema, rate limit for writes, one service call. Throws the command's error.
   */
  command(name: CommandName, data: Record<string, unknown>): Promise<unknown>;
  /** Spends a point of the caller's rate limit, for a write that is not a command. */
  spend(): Promise<void>;
  /** The WebSocket connection a subscription runs on (there is none over HTTP). */
  requireLive(): LiveConnection;
}

export interface ContextDeps {
  services: Services;
  dispatch: Dispatch;
  limiter: RateLimiter;
}

/**
 * `connectionId` names where typing comes from (the socket, so it stops when the socket
 * does; over HTTP it expires by itself). The actor has no deviceId: a change made over
 * GraphQL reaches every subscription, this socket's too.
 */
export function createContext(deps: ContextDeps, actor: Actor, connectionId: string, live: LiveConnection | null): GraphqlContext {
  const { services, dispatch, limiter } = deps;
  return {
    actor,
    services,
    user: batchLoader((ids) => services.users.profiles(ids)),
    async command(name, data) {
      const ack = await dispatch({ actor, connectionId }, name, data);
      if (ack.ok) return ack.data;
      const { code, message, retryAfter, details } = ack.error;
      throw new AppError(code, message, { ...(retryAfter !== undefined ? { retryAfter } : {}), ...(details ? { details } : {}) });
    },
    async spend() {
      const decision = await limiter.consume(`user:${actor.userId}`);
      if (!decision.allowed) throw new AppError('rate_limited', undefined, { retryAfter: decision.retryAfterSec });
    },
    requireLive() {
      if (!live) throw new AppError('validation_failed', 'Subscriptions run over the WebSocket at /graphql');
      return live;
    },
  };
}

/**
 * The context of an execution that every subscriber of a live event shares
 * (shared-execution.ts): only what answers the same whoever asks, public profiles. Anything
 * else throws, so a field that reads the viewer fails loudly instead of serving one viewer's
 * answer to another.
 */
export function viewerFreeContext(ctx: GraphqlContext): GraphqlContext {
  const allowed: Partial<GraphqlContext> = { user: ctx.user };
  return new Proxy(allowed, {
    get(target, key) {
      // Not a thenable either: awaiting the context must not throw.
      if (typeof key !== 'string' || key === 'then' || key in target) return target[key as keyof GraphqlContext];
      throw new Error(`A subscription event shared by its subscribers cannot read the context's ${key}`);
    },
  }) as GraphqlContext;
}
