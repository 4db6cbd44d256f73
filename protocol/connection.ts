/**
 * What a realtime connection agrees on before any event: the protocol version the client
 * speaks and the close codes the server ends a connection with. Plain constants (no schema
 * library), shared by both gateways and the SDK.
 */

/**
 * The realtime protocol version this server speaks. A client sends it on connect (Socket.IO
 * `auth.v`, plain WebSocket `?v=`); a client that sends none is taken to speak this one.
 * It changes only when an existing event or command changes meaning; new events, commands
 * and fields do not change it.
 */
export const PROTOCOL_VERSION = 1;

/** Versions this server can serve. Any other is refused with `protocolUnsupported`. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];

/**
 * WebSocket close codes. 4000-4499: the client should reconnect (with backoff) and sync;
 * 4500-4999: it should not reconnect without a change (a new token, a fixed client).
 */
export const CLOSE_CODES = {
  /** The server is shutting down or restarting. */
  restart: 4001,
  /** It stopped reading: its send buffer passed the bound. Reconnect and sync. */
  slowConsumer: 4008,
  /** Too many frames, even after errors. */
  flood: 4029,
  /** Storage could not be reached while the connection was set up: reconnect after a pause. */
  unavailable: 4013,
  /** No or bad credentials. */
  unauthorized: 4501,
  /** The token expired during the connection; reconnect with a new token. */
  tokenExpired: 4503,
  /** The client asked for a protocol version this server cannot serve (reason: `protocol_unsupported`). */
  protocolUnsupported: 4505,
} as const;

/** 4500-4999: the server will refuse the same client again; reconnecting as-is is pointless. */
export function isTerminalCloseCode(code: number): boolean {
  return code >= 4500 && code <= 4999;
}

/**
 * The version a client asked for, or the error code refusing it. Missing means the current
 * version, so clients older than versioning keep working. Accepts a number or its decimal
 * text (a query string carries text).
 */
export function negotiateVersion(raw: unknown): { ok: true; version: number } | { ok: false } {
  if (raw === undefined || raw === null || raw === '') return { ok: true, version: PROTOCOL_VERSION };
  const version = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  return SUPPORTED_PROTOCOL_VERSIONS.includes(version) ? { ok: true, version } : { ok: false };
}
