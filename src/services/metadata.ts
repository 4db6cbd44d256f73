import { LIMITS } from '../../protocol/limits.ts';
import { AppError } from '../errors.ts';

/** Metadata (of conversations and users) is free-form, but bounded in size. */
export function checkMetadata(metadata: Record<string, unknown> | undefined): void {
  if (metadata && Buffer.byteLength(JSON.stringify(metadata)) > LIMITS.metadataMaxBytes) {
    throw new AppError('payload_too_large', `metadata must serialise to at most ${LIMITS.metadataMaxBytes} bytes`);
  }
}
