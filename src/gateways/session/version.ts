import { negotiateVersion, SUPPORTED_PROTOCOL_VERSIONS } from '../../../protocol/connection.ts';
import { AppError } from '../../errors.ts';

/**
 * Checks the protocol version a realtime client sent on connect (absent: the current one).
 * A version this server cannot serve is refused before authentication, with an error that
 * names the versions it can: the client must be updated, so it gets a terminal answer.
 */
export function checkProtocolVersion(raw: unknown): AppError | null {
  if (negotiateVersion(raw).ok) return null;
  return new AppError('protocol_unsupported', `This server speaks realtime protocol version ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`);
}
