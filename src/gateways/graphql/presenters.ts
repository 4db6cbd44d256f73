import { AppError } from '../../errors.ts';

/** Parley's lower-case words as GraphQL enum values, and back. */
export const upper = (s: string): string => s.toUpperCase();
export const lower = (s: string): string => s.toLowerCase();

/** A message edge's cursor: the seq, opaque to clients. */
export const messageCursor = (seq: number): string => Buffer.from(`seq:${seq}`).toString('base64url');

export function seqOfCursor(raw: string): number {
  const m = /^seq:(\d{1,15})$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  if (!m) throw new AppError('validation_failed', 'after is not a cursor this server issued');
  return Number(m[1]);
}

/** A Relay-style page: edges with cursors, and where the next page starts. */
export function connection<T>(nodes: T[], cursorOf: (node: T) => string, hasNextPage: boolean) {
  const edges = nodes.map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}
