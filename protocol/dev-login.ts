import { type Static, Type } from '@sinclair/typebox';
import { UserId } from './schemas.ts';

/**
 * `POST /v1/dev/login` (development sign-in; exists only in embedded mode with a generated
 * secret on a loopback host): a token for any user id, with an optional display name.
 */
export const DevLogin = Type.Object(
  { userId: UserId, name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);
export type DevLogin = Static<typeof DevLogin>;

/** The answer: a bearer token and when it expires (ISO 8601). */
export interface DevLoginResult {
  token: string;
  expiresAt: string;
}
