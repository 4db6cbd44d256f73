import { io } from 'socket.io-client';
import { CLOSE_CODES } from '../../protocol/connection.ts';
import { closeError, DROPPED, isReady, type OpenTransport, type Transport } from './transport.ts';

/** Socket.IO refuses before connect with an error code; the SDK reasons in close codes, as the plain WebSocket gateway closes. */
const REFUSALS: Record<string, number> = {
  auth_required: CLOSE_CODES.unauthorized,
  token_invalid: CLOSE_CODES.unauthorized,
  token_expired: CLOSE_CODES.unauthorized,
  protocol_unsupported: CLOSE_CODES.protocolUnsupported,
};

/**
 * The Socket.IO gateway: token and version in `auth`, commands acked by callback. Socket.IO's
 * own reconnection is off: the client runs one reconnect policy for both transports.
 */
export const socketIoTransport: OpenTransport = ({ url, token, version, handlers, timeoutMs }) =>
  new Promise((resolve, reject) => {
    // WebSocket first (one connection, no polling round trips); long-polling where it is blocked.
    const socket = io(url, { auth: { token, v: version }, transports: ['websocket', 'polling'], tryAllTransports: true, reconnection: false, forceNew: true, timeout: timeoutMs });
    let open = false;
    let expired = false;
    const fail = (code: number, reason: string) => {
      socket.off();
      socket.disconnect();
      reject(closeError(code, reason));
    };
    const timer = setTimeout(() => fail(DROPPED, 'connect timeout'), timeoutMs);

    const transport: Transport = {
      async request(name, data, ms) {
        if (!socket.connected) throw closeError(DROPPED, 'disconnected');
        try {
          return await socket.timeout(ms).emitWithAck(name, data);
        } catch {
          throw closeError(DROPPED, socket.connected ? 'timeout' : 'disconnected');
        }
      },
      close() {
        open = false;
        socket.disconnect();
      },
    };

    socket.on('connect_error', (err: Error & { data?: { code?: unknown } }) => {
      clearTimeout(timer);
      const code = typeof err.data?.code === 'string' ? err.data.code : '';
      fail(REFUSALS[code] ?? DROPPED, code || err.message);
    });
    socket.onAny((name: unknown, data: unknown) => {
      if (name === 'ready' && !open && isReady(data)) {
        open = true;
        clearTimeout(timer);
        return resolve({ transport, ready: data });
      }
      if (name === 'session:expired') expired = true;
      handlers.event(name, data);
    });
    socket.on('disconnect', (reason) => {
      clearTimeout(timer);
      if (!open) return fail(DROPPED, reason);
      open = false;
      // The server ends a session whose token expired (after `session:expired`), or stops.
      const code = expired ? CLOSE_CODES.tokenExpired : reason === 'io server disconnect' ? CLOSE_CODES.restart : DROPPED;
      handlers.closed({ code, reason: expired ? 'token_expired' : reason });
    });
  });
