import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../../domain/types.ts';
import { AppError } from '../../errors.ts';
import type { RateLimiter } from '../../realtime/rate-limiter.ts';
import type { Principal } from '../../services/auth.ts';
import type { Services } from '../../services/index.ts';

/** Per route: who may call it. `user` routes also accept an admin key acting via X-Parley-User. */
export type AuthMode = 'none' | 'user' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The token of an `Authorization: Bearer` header; a malformed header is token_invalid. */
export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new AppError('token_invalid', 'Use Authorization: Bearer <token>');
  return m[1];
}

/**
 * Authenticates before the body is even parsed (an anonymous flood costs no parsing),
 * then spends one rate-limit point per write by an end user.
 */
export function registerAuth(app: FastifyInstance, services: Services, limiter: RateLimiter): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const mode = req.routeOptions.config.auth ?? 'none';
    if (mode === 'none') return;
    const acting = req.headers['x-parley-user'];
    const principal = await services.auth.authenticate(bearer(req), Array.isArray(acting) ? acting[0] : acting);
    if (mode === 'admin' && principal.kind !== 'admin') throw new AppError('admin_required');
    req.principal = principal;
    if (principal.kind === 'user' && WRITES.has(req.method)) {
      const decision = await limiter.consume(`user:${principal.actor.userId}`);
      if (!decision.allowed) throw new AppError('rate_limited', undefined, { retryAfter: decision.retryAfterSec });
    }
  });
}

/** The end user a `user` route acts for. */
export function actorOf(req: FastifyRequest): Actor {
  const actor = req.principal?.actor;
  if (!actor) throw new AppError('acting_user_required');
  return actor;
}
