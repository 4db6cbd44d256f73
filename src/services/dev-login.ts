import { SignJWT } from 'jose';
import type { DevLoginResult } from '../../protocol/dev-login.ts';
import type { Config } from '../config.ts';

const TTL_SECONDS = 24 * 3600;

/**
 * A token for `userId`, signed with the embedded secret, as `npm run token` prints: the
 * development sign-in's whole job. Only ever reached when `config.devLogin` is on.
 */
export async function issueDevToken(config: Config, userId: string, name: string | undefined, now = new Date()): Promise<DevLoginResult> {
  if (!config.devLogin || !config.jwt.secret) throw new Error('development sign-in is off');
  const exp = Math.floor(now.getTime() / 1000) + TTL_SECONDS;
  const token = await new SignJWT(name ? { name } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(config.jwt.secret));
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}
