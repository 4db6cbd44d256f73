import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { EMAIL_PATTERN } from '../../protocol/schemas.ts';
import type { Config } from '../config.ts';
import { isUserId } from '../domain/ids.ts';
import { isStorableText } from '../domain/text.ts';
import type { Actor } from '../domain/types.ts';
import { AppError } from '../errors.ts';
import type { UserService } from './users.ts';

/**
 * Who is calling: an end user (JWT, valid until `expiresAt`, ms since epoch), or a server
 * with an admin API key, maybe acting for a user.
 */
export type Principal = { kind: 'user'; actor: Actor; expiresAt: number } | { kind: 'admin'; actor: Actor | null };

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

const EMAIL_RE = new RegExp(EMAIL_PATTERN);

function claimString(payload: JWTPayload, name: string, max: number): string | undefined {
  const v = payload[name];
  return typeof v === 'string' && v.length > 0 && v.length <= max && isStorableText(v) ? v : undefined;
}

/**
 * Verifies credentials into a Principal; transport-agnostic (HTTP headers, Socket.IO
 * handshake auth and WebSocket query strings all end here).
 */
export function authService(config: Config, users: UserService) {
  const { jwt } = config;
  const apiKeyDigests = config.apiKeys.map(digest);
  const secret = jwt.secret ? new TextEncoder().encode(jwt.secret) : null;
  const jwks = jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 }) : null;

  // HMAC tokens check against the secret, others against the JWKS; the allowlist is enforced by jwtVerify first.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg?.startsWith('HS')) {
      if (secret) return secret;
    } else if (jwks) {
      return jwks(header, token);
    }
    throw new joseErrors.JOSEAlgNotAllowed('no key for this algorithm');
  };

  const isApiKey = (token: string): boolean => {
    const d = digest(token);
    return apiKeyDigests.some((k) => timingSafeEqual(k, d));
  };

  async function verifyJwt(token: string): Promise<{ actor: Actor; expiresAt: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: jwt.algorithms,
        clockTolerance: jwt.clockToleranceSec,
        requiredClaims: ['exp', 'sub'],
        ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
        ...(jwt.audience ? { audience: jwt.audience } : {}),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AppError('token_expired');
      throw new AppError('token_invalid');
    }
    if (!isUserId(payload.sub)) throw new AppError('token_invalid', 'The token subject is not a valid user id');
    const name = claimString(payload, 'name', 200);
    // Same rule as the admin API: a picture is an http(s) URL, never javascript: or data:.
    const pictureClaim = claimString(payload, 'picture', 2048);
    const picture = pictureClaim && /^https?:\/\//i.test(pictureClaim) ? pictureClaim : undefined;
    const emailClaim = claimString(payload, 'email', 254);
    const email = emailClaim && EMAIL_RE.test(emailClaim) && payload.email_verified !== false ? emailClaim : undefined;
    await users.syncFromClaims({ id: payload.sub, ...(name ? { name } : {}), ...(picture ? { picture } : {}), ...(email ? { email } : {}) });
    return { actor: { userId: payload.sub }, expiresAt: (payload.exp! + jwt.clockToleranceSec) * 1000 };
  }

  return {
    /**
     * `token` is a JWT or an admin API key. `actingAs` (API keys only) names the user the
     * server acts for, which must be a valid user id.
     */
    async authenticate(token: string | undefined, actingAs?: string): Promise<Principal> {
      if (!token) throw new AppError('auth_required');
      if (apiKeyDigests.length && isApiKey(token)) {
        if (actingAs === undefined) return { kind: 'admin', actor: null };
        if (!isUserId(actingAs)) throw new AppError('validation_failed', 'X-Parley-User is not a valid user id');
        await users.syncFromClaims({ id: actingAs });
        return { kind: 'admin', actor: { userId: actingAs, admin: true } };
      }
      return { kind: 'user', ...(await verifyJwt(token)) };
    },
  };
}

export type AuthService = ReturnType<typeof authService>;
