import type { Ack } from '../../protocol/event-map.ts';

/** Why a connection ended: a WebSocket close code (1006: dropped) and a short reason. */
export interface CloseInfo {
  code: number;
  /** An error code (`token_expired`, `protocol_unsupported`, …) or what the transport said. */
  reason: string;
}

export interface TransportHandlers {
  /** Every server event, exactly as received: the client checks names and payloads. */
  event(name: unknown, data: unknown): void;
  /** A frame that could not be read at all. */
  malformed(): void;
  /** The connection ended after it was ready (not called after `close()`). */
  closed(info: CloseInfo): void;
}

export interface TransportOptions {
  url: string;
  token: string;
  version: number;
  handlers: TransportHandlers;
  /** Opening must reach `ready` within this long (ms). */
  timeoutMs: number;
}

/** One live connection over one gateway. */
export interface Transport {
  /** Sends a command and waits for its ack; rejects when the connection ends or `timeoutMs` passes. */
  request(name: string, data: unknown, timeoutMs: number): Promise<Ack>;
  close(): void;
}

export interface Ready {
  userId: string;
  connectionId: string;
}

/** Opens a connection; resolves once the server said `ready`, rejects with a CloseInfo otherwise. */
export type OpenTransport = (opts: TransportOptions) => Promise<{ transport: Transport; ready: Ready }>;

export const DROPPED = 1006;

/** A connection failure that is a CloseInfo, for rejecting opens. */
export function closeError(code: number, reason: string): Error & CloseInfo {
  return Object.assign(new Error(`connection closed: ${code} ${reason}`), { code, reason });
}

export function isReady(data: unknown): data is Ready {
  const d = data as Ready | null;
  return !!d && typeof d.userId === 'string' && typeof d.connectionId === 'string';
}
